/**
 * CHAT_RETENTION_DAYS: chats not updated for that many days are deleted, pinned ones excepted, at
 * start and then hourly. The count goes to the audit log; with secure_delete the freed pages are
 * overwritten, and the owners' search indexes are dropped from memory.
 */
import type { AuditLog } from '../audit/audit-log.ts'
import type { Config } from '../config/load-config.ts'
import { deleteChatsNotUpdatedSince } from '../db/chat-retention.ts'
import type { Store } from '../db/open-store.ts'
import type { Logger } from '../log/logger.ts'

const DAY_MS = 24 * 60 * 60 * 1000
const INTERVAL_MS = 60 * 60 * 1000

export function createRetention({ config, store, log, audit, now }: { config: Config; store: Store; log: Logger; audit: AuditLog; now: () => number }) {
  const days = config.values.CHAT_RETENTION_DAYS
  let timer: ReturnType<typeof setInterval> | null = null

  /** Deletes the expired chats now; returns how many (0 when retention is off). */
  async function runOnce(): Promise<number> {
    if (days === null) return 0
    const { deleted, owners } = await deleteChatsNotUpdatedSince(store.sql, store.accountChanges, now() - days * DAY_MS)
    for (const owner of owners) store.chats.forgetSearchIndexForUser(owner)
    if (deleted > 0) {
      audit.record({ event: 'chats_expired', details: { count: deleted, retention_days: days } })
      log.info('Deleted chats past CHAT_RETENTION_DAYS', { count: deleted, days })
    }
    return deleted
  }

  return {
    runOnce,
    startTimer(): void {
      if (days === null || timer !== null) return
      const runLogged = () => runOnce().catch((error: unknown) => {
        log.error('Chat retention run failed', { error: error instanceof Error ? error.name : 'unknown' })
      })
      void runLogged()
      timer = setInterval(runLogged, INTERVAL_MS)
      timer.unref?.()
    },
    stopTimer(): void {
      if (timer !== null) clearInterval(timer)
      timer = null
    },
  }
}
