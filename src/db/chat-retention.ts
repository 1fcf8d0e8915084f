/** Deletes chats not updated since a cutoff, pinned chats excepted, with their messages. */
import type { Database } from 'bun:sqlite'
import type { AccountChanges } from './account-changes.ts'
import type { UserId } from './ids.ts'

/** Deletes every unpinned chat last updated before `cutoffMs`, announcing it to `changes`; returns how many went and whose. */
export function deleteChatsNotUpdatedSince(db: Database, changes: AccountChanges, cutoffMs: number): { deleted: number; owners: UserId[] } {
  const result = db.transaction(() => {
    const owners = db.query<{ user_id: string }, [number]>('SELECT DISTINCT user_id FROM chat WHERE pinned = 0 AND updated_at < ?').all(cutoffMs)
    const deleted = db.query<void, [number]>('DELETE FROM chat WHERE pinned = 0 AND updated_at < ?').run(cutoffMs).changes
    return { deleted, owners: owners.map((row) => row.user_id as UserId) }
  }).immediate()
  for (const owner of result.owners) changes.chatsDeleted(owner)
  return result
}
