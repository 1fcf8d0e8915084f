/** Deletes chats not updated since a cutoff, pinned chats excepted, with their messages. */
import type { SqlEngine } from './engine.ts'
import type { AccountChanges } from './account-changes.ts'
import type { UserId } from './ids.ts'

/** Deletes every unpinned chat last updated before `cutoffMs`, announcing it to `changes`; returns how many went and whose. */
export async function deleteChatsNotUpdatedSince(sql: SqlEngine, changes: AccountChanges, cutoffMs: number): Promise<{ deleted: number; owners: UserId[] }> {
  const result = await sql.transaction(async () => {
    const owners = await sql.all<{ user_id: string }>('SELECT DISTINCT user_id FROM chat WHERE pinned = 0 AND updated_at < ?', cutoffMs)
    const { changes: deleted } = await sql.run('DELETE FROM chat WHERE pinned = 0 AND updated_at < ?', cutoffMs)
    return { deleted, owners: owners.map((row) => row.user_id as UserId) }
  })
  for (const owner of result.owners) changes.chatsDeleted(owner)
  return result
}
