/**
 * Account changes on every instance (db/account-changes.ts): a sign-out, a revoked session or API
 * key, a role change, a deleted user or chat, a back-channel logout announced on one instance is
 * published on the bus (sealed: it names a user) and announced again on every other one, where the
 * socket route closes the user's sockets and stops their answers, and the principal cache drops
 * what it held (it is keyed on the user's generation, which the notice moves). Each instance then
 * reads the new state from the shared database, so a lost notice costs at most the socket route's
 * periodic recheck, never a wrong grant. A new name or email (a record change, which revokes
 * nothing) travels too, so no instance serves the old one from its principal cache.
 */
import type { AccountChange, AccountChanges } from '../db/account-changes.ts'
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
      if (change.kind === 'access') changes.accessChanged(change.userId)
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
  if (value.kind === 'access' && (value.userId === null || typeof value.userId === 'string')) return { kind: 'access', userId: value.userId as UserId | null }
  if ((value.kind === 'chats' || value.kind === 'record') && typeof value.userId === 'string') return { kind: value.kind, userId: value.userId as UserId }
  return null
}
