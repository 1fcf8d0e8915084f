/**
 * Single-user mode (SINGLE_USER_MODE=true, WEBUI_AUTH=false): the data directory has one account,
 * an admin, and the browser on this machine is it, without signing in. The account is created
 * without a password (admin@localhost, as Open WebUI names it); one already there (an import) is
 * that user and becomes an admin. More than one account is refused, as Open WebUI does: whose
 * would the browser be? The HTTP side (loopback names, same origin only) is http/plugins/single-user-guard.ts.
 */
import type { Store } from '../db/open-store.ts'
import type { User } from '../db/users.ts'

export const SINGLE_USER_EMAIL = 'admin@localhost'

export type SingleUserResult = { ok: true; user: User; created: boolean } | { ok: false; accounts: number }

/** Makes sure the store has exactly one account, an admin: creates it when there is none; refuses more than one. */
export async function prepareSingleUser(store: Store): Promise<SingleUserResult> {
  const accounts = await store.users.countUsers()
  if (accounts > 1) return { ok: false, accounts }
  const existing = await findSingleUser(store)
  if (existing !== null) {
    if (existing.role !== 'admin') await store.users.setUserRole(existing.id, 'admin')
    return { ok: true, user: { ...existing, role: 'admin' }, created: false }
  }
  const created = await store.users.createUser({ email: SINGLE_USER_EMAIL, name: 'User', role: 'admin' })
  if (!created.ok) throw new Error('unreachable: the single user\'s email was taken in an empty store')
  return { ok: true, user: created.user, created: true }
}

/** The one account, or null when there is not exactly one. */
export async function findSingleUser(store: Store): Promise<User | null> {
  const users = await store.users.listUsers({ limit: 2, offset: 0 })
  return users.length === 1 ? users[0]! : null
}
