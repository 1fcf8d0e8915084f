/**
 * Runs a data key rotation inside the server: one small batch at a time, yielding to the event
 * loop between batches so requests are served throughout. Only one rotation runs at a time; a
 * server that starts with an unfinished one resumes it.
 */
import type { DataKeyRotator } from '../db/data-key-rotation.ts'
import type { OwnerId } from '../db/data-keys.ts'
import type { Logger } from '../log/logger.ts'

export type RotationProgress = {
  state: 'idle' | 'running' | 'finished' | 'failed'
  /** Owners whose values are still partly under an older key version. */
  pendingOwners: number
  finishedOwners: number
  reencryptedValues: number
  batches: number
  startedAt: number | null
  finishedAt: number | null
}

export type RotationJobOptions = { rotator: DataKeyRotator; log: Logger; now: () => number; batchSize?: number; pauseMs?: number }

export function createDataKeyRotationJob({ rotator, log, now, batchSize = 200, pauseMs = 0 }: RotationJobOptions) {
  let progress: RotationProgress = { state: 'idle', pendingOwners: 0, finishedOwners: 0, reencryptedValues: 0, batches: 0, startedAt: null, finishedAt: null }
  let stopRequested = false
  let running: Promise<void> | null = null

  async function run(): Promise<void> {
    while (!stopRequested) {
      let step
      try {
        step = await rotator.step(batchSize)
      } catch (error) {
        progress = { ...progress, state: 'failed', finishedAt: now() }
        log.error('Data key rotation stopped: a value could not be re-encrypted', { error: error instanceof Error ? error.message : String(error) })
        return
      }
      progress = {
        ...progress, batches: progress.batches + 1, reencryptedValues: progress.reencryptedValues + step.reencrypted,
        finishedOwners: progress.finishedOwners + step.finishedOwners.length, pendingOwners: step.pendingOwners,
      }
      if (step.pendingOwners === 0) {
        progress = { ...progress, state: 'finished', finishedAt: now() }
        log.info('Data key rotation finished', { values: progress.reencryptedValues, owners: progress.finishedOwners })
        return
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
    progress = { ...progress, state: 'idle' }
  }

  /** Takes the job at once (so two callers cannot both start), then runs it when `prepare` says there is work. */
  function claim(prepare: () => Promise<boolean>): Promise<boolean> {
    if (running !== null) return Promise.resolve(false)
    stopRequested = false
    const started = (async () => {
      if (!(await prepare())) return false
      progress = { state: 'running', pendingOwners: (await rotator.pendingOwners()).length, finishedOwners: 0, reencryptedValues: 0, batches: 0, startedAt: now(), finishedAt: null }
      return true
    })()
    // note: a failure to prepare reaches the caller through `started`; the job is free again.
    running = started.then((go) => (go ? run() : undefined), () => undefined).finally(() => { running = null })
    return started
  }

  return {
    /** Starts rotating the owners' keys (null: every user and the server's own); false when one is already running. */
    start(owners: OwnerId[] | null): Promise<boolean> {
      return claim(async () => {
        await rotator.beginRotation(owners)
        return true
      })
    },
    /** Carries on with an unfinished rotation found at start; false when there is none. */
    resumeIfPending(): Promise<boolean> {
      return claim(async () => (await rotator.pendingOwners()).length > 0)
    },
    progress: (): RotationProgress => ({ ...progress }),
    /** Stops after the batch in progress; the rotation stays pending and resumes on the next start. */
    async stop(): Promise<void> {
      stopRequested = true
      await running
    },
  }
}

export type DataKeyRotationJob = ReturnType<typeof createDataKeyRotationJob>
