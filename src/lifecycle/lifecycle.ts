/**
 * The server's background lifecycle work: the data key rotation job and the chat retention timer.
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

export function createLifecycle(deps: LifecycleDeps) {
  const rotationJob = createDataKeyRotationJob({ rotator: createDataKeyRotator(deps.store.db, deps.store.dataKeys), log: deps.log, now: deps.now, ...(deps.rotationBatchSize === undefined ? {} : { batchSize: deps.rotationBatchSize }) })
  const retention = createRetention(deps)
  return {
    rotationJob,
    retention,
    /** Resumes an unfinished data key rotation and starts the retention timer. */
    start(): void {
      if (rotationJob.resumeIfPending()) deps.log.info('Resuming an unfinished data key rotation')
      retention.startTimer()
    },
    async stop(): Promise<void> {
      retention.stopTimer()
      await rotationJob.stop()
    },
  }
}

export type Lifecycle = ReturnType<typeof createLifecycle>
