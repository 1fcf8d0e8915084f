/**
 * The server's background lifecycle work: the data key rotation job, the chat retention timer, and
 * the sweep that drops opened chats left idle (db/chat-history-cache.ts) on a server no one uses.
 * Built once by cli/serve.ts (tests let createApp build one) and stopped before the store closes.
 */
import type { AuditLog } from '../audit/audit-log.ts'
import type { Config } from '../config/load-config.ts'
import { createDataKeyRotator } from '../db/data-key-rotation.ts'
import type { Store } from '../db/open-store.ts'
import type { Logger } from '../log/logger.ts'
import { createDataKeyRotationJob } from './data-key-rotation-job.ts'
import { createRetention } from './retention.ts'

export type LifecycleDeps = {
  config: Config; store: Store; log: Logger; audit: AuditLog; now: () => number
  /** Values re-encrypted per data key rotation batch (200 unless given). */
  rotationBatchSize?: number
}

/** How often opened chats are checked for idleness when no read does it. */
const HISTORY_SWEEP_INTERVAL_MS = 60_000

export function createLifecycle(deps: LifecycleDeps) {
  const rotationJob = createDataKeyRotationJob({ rotator: createDataKeyRotator(deps.store.sql, deps.store.dataKeys), log: deps.log, now: deps.now, ...(deps.rotationBatchSize === undefined ? {} : { batchSize: deps.rotationBatchSize }) })
  const retention = createRetention(deps)
  let historySweep: ReturnType<typeof setInterval> | null = null
  /** Drops idle opened chats and reports what is held (GLOBAL_LOG_LEVEL=DEBUG shows it). */
  const sweepHistory = () => {
    deps.store.chats.sweepIdleHistory()
    const held = deps.store.chats.historyCacheSize()
    if (held.chats > 0) deps.log.debug('Chat history cache', { chats: held.chats, messages: held.messages, bytes: held.bytes })
  }
  /** Carries on an unfinished data key rotation; not beside other instances on one PostgreSQL (Redis configured): they hold the keys in memory. */
  const resumeRotation = () => {
    if (deps.config.postgres !== null && deps.config.cluster !== null) {
      void createDataKeyRotator(deps.store.sql, deps.store.dataKeys).pendingOwners().then((pending) => {
        if (pending.length > 0) deps.log.warn('A data key rotation is unfinished: it is carried on by one instance running alone, without REDIS_URL.')
      }, () => {})
      return
    }
    void rotationJob.resumeIfPending().then(
      (resumed) => { if (resumed) deps.log.info('Resuming an unfinished data key rotation') },
      (error: unknown) => deps.log.error('Could not resume the unfinished data key rotation', { error: error instanceof Error ? error.message : String(error) }))
  }
  return {
    rotationJob,
    retention,
    /** Resumes an unfinished data key rotation and starts the retention timer. */
    start(): void {
      resumeRotation()
      retention.startTimer()
      historySweep ??= setInterval(sweepHistory, HISTORY_SWEEP_INTERVAL_MS)
      historySweep.unref?.()
    },
    async stop(): Promise<void> {
      retention.stopTimer()
      if (historySweep !== null) clearInterval(historySweep)
      historySweep = null
      await rotationJob.stop()
    },
  }
}

export type Lifecycle = ReturnType<typeof createLifecycle>
