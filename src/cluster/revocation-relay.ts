/**
 * Account changes on every instance (db/account-changes.ts): a sign-out, a revoked session or API
 * key, a role change, a deleted user or chat, a back-channel logout announced on one instance is
 * published on the bus (sealed: it names a user) and announced again on every other one, where the
 * socket route closes the user's sockets and stops their answers, and the principal cache drops
 * what it held (it is keyed on the user's generation, which the notice moves). A notice travels with
 * what it revoked, when its writer said (db/account-changes.ts), so the others decide from it at once
 * too; a detail in an unknown shape is dropped, and the credential is read again. Each instance then
 * reads the new state from the shared database, so a lost notice costs at most the socket route's
 * periodic recheck, never a wrong grant. A new name or email (a record change, which revokes
 * nothing) travels too, so no instance serves the old one from its principal cache.
 */
import type { AccountChange, AccountChanges, Revocation } from '../db/account-changes.ts'
import type { UserId } from '../db/ids.ts'
import type { ClusterBus } from './cluster-bus.ts'

/** Publishes this instance's account changes and applies the others'; settles once subscribed. */
export function connectRevocationRelay(bus: ClusterBus, changes: AccountChanges): Promise<void> {
  // note: set while a notice from another instance is announced here, so it is not published back.
  let isApplyingRemote = false
  changes.subscribe((change) => {
    if (!isApplyingRemote) void bus.publish('access', change)
  })
  changes.onRecordChanged((userId) => {
    if (!isApplyingRemote) void bus.publish('access', { kind: 'record', userId })
  })
  return bus.subscribe('access', (body) => {
    const change = parseChange(body)
    if (change === null) return
    isApplyingRemote = true
    try {
      if (change.kind === 'access') changes.accessChanged(change.userId, change.revoked)
      else if (change.kind === 'chats') changes.chatsDeleted(change.userId)
      else changes.recordChanged(change.userId)
    } finally {
      isApplyingRemote = false
    }
  })
}

function parseChange(body: unknown): AccountChange | { kind: 'record'; userId: UserId } | null {
  const value = body as { kind?: unknown; userId?: unknown }
  if (typeof value !== 'object' || value === null) return null
  if (value.kind === 'access' && (value.userId === null || typeof value.userId === 'string')) {
    const revoked = parseRevocation((body as { revoked?: unknown }).revoked)
    return revoked === undefined ? { kind: 'access', userId: value.userId as UserId | null } : { kind: 'access', userId: value.userId as UserId | null, revoked }
  }
  if ((value.kind === 'chats' || value.kind === 'record') && typeof value.userId === 'string') return { kind: value.kind, userId: value.userId as UserId }
  return null
}

/** What a relayed notice says it revoked, when it says it in a known shape; undefined otherwise (the credential is then read again). */
function parseRevocation(value: unknown): Revocation | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { kind, sessionId, keep, apiKeyId, role } = value as Record<string, unknown>
  const isId = (id: unknown): id is string => typeof id === 'string' && id.length <= 128
  if (kind === 'session' && isId(sessionId)) return { kind, sessionId }
  if (kind === 'sessions' && (keep === null || isId(keep))) return { kind, keep }
  if (kind === 'api_key' && (apiKeyId === null || isId(apiKeyId))) return { kind, apiKeyId }
  if (kind === 'role' && (role === 'admin' || role === 'user' || role === 'pending')) return { kind, role }
  if (kind === 'deleted') return { kind }
  return undefined
}
