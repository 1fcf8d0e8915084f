/**
 * `enclave keys rotate-data [--user ID] [--batch-size N]`, with the server stopped (a running server
 * rotates through POST /api/v1/admin/keys/rotate-data and resumes an unfinished rotation at start).
 * Progress is printed as it goes; an interrupted run carries on where it stopped when run again.
 *
 * On PostgreSQL (DATABASE_URL) every instance must be stopped, and the command refuses while it
 * finds one (running-instances.ts): an instance keeps each owner's data keys in memory and reads
 * them again only when they are not there, so it would go on sealing under a version the rotation
 * destroys, and fail to open values re-encrypted under a version it has not read.
 */
import type { Config } from '../config/load-config.ts'
import { createDataKeyRotator } from '../db/data-key-rotation.ts'
import { parseUserId } from '../db/ids.ts'
import { openCommandStore } from './command-store.ts'
import { findRunningInstances } from './running-instances.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

export async function rotateDataKeysOffline(config: Config, options: { user?: string; batchSize?: string }, io: Output): Promise<number> {
  const batchSize = options.batchSize === undefined ? 500 : Number(options.batchSize)
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    io.err('enclave: --batch-size must be an integer from 1 to 100000\n')
    return 2
  }
  const user = options.user === undefined ? null : parseUserId(options.user)
  if (options.user !== undefined && user === null) {
    io.err('enclave: --user must be a user id (a UUID)\n')
    return 2
  }
  const running = await findRunningInstances(config)
  if (running.length > 0) {
    io.err(config.postgres === null
      ? 'enclave: a server answers on this port: stop it first, or rotate through the admin API (POST /api/v1/admin/keys/rotate-data).\n'
      : `enclave: instances run on this database (${running.join('; ')}): stop every one first. They keep data keys in memory and would not see the new ones, so this rotation needs them all stopped; nothing was changed.\n`)
    return 1
  }
  const store = await openCommandStore(config)
  try {
    if (user !== null && await store.users.findUserById(user) === null) {
      io.err(`enclave: there is no user ${user}\n`)
      return 1
    }
    const rotator = createDataKeyRotator(store.sql, store.dataKeys)
    // note: an unfinished rotation is finished first, not begun again for owners already done.
    const resumed = (await rotator.pendingOwners()).length
    if (resumed > 0) io.out(`Resuming an unfinished data key rotation: ${resumed} owners to go. Run again afterwards to start a new one.\n`)
    else io.out(`Rotating data keys: ${await rotator.beginRotation(user === null ? null : [user])} owners given a new key.\n`)
    let values = 0
    let finished = 0
    for (let batch = 1; ; batch++) {
      const step = await rotator.step(batchSize)
      values += step.reencrypted
      finished += step.finishedOwners.length
      if (batch % 20 === 0) io.out(`  ${values} values re-encrypted, ${finished} owners done, ${step.pendingOwners} to go\n`)
      if (step.pendingOwners === 0) break
    }
    io.out(`Done: ${values} values re-encrypted under new data keys; ${finished} owners' old data keys destroyed.\n`)
    return 0
  } finally {
    await store.close()
  }
}
