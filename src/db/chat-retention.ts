/** Deletes chats not updated since a cutoff, pinned chats excepted, with their messages. */
import type { Database } from 'bun:sqlite'
import type { UserId } from './ids.ts'

/** Deletes every unpinned chat last updated before `cutoffMs`; returns how many went and whose. */
export function deleteChatsNotUpdatedSince(db: Database, cutoffMs: number): { deleted: number; owners: UserId[] } {
  return db.transaction(() => {
    const owners = db.query<{ user_id: string }, [number]>('SELECT DISTINCT user_id FROM chat WHERE pinned = 0 AND updated_at < ?').all(cutoffMs)
    const { changes } = db.query<void, [number]>('DELETE FROM chat WHERE pinned = 0 AND updated_at < ?').run(cutoffMs)
    return { deleted: changes, owners: owners.map((row) => row.user_id as UserId) }
  }).immediate()
}
