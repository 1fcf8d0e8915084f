/**
 * `enclave keys rotate-data [--user ID] [--batch-size N]`, with the server stopped (a running server
 * rotates through POST /api/v1/admin/keys/rotate-data and resumes an unfinished rotation at start).
 * Progress is printed as it goes; an interrupted run carries on where it stopped when run again.
 */
import type { Config } from '../config/load-config.ts'
import { readPreviousMasterKey } from '../crypto/previous-master-key.ts'
import { createDataKeyRotator } from '../db/data-key-rotation.ts'
import { parseUserId } from '../db/ids.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { openStore } from '../db/open-store.ts'
import { checkHealth } from './healthcheck.ts'

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
  if ((await checkHealth(config, 1000)).ok) {
    io.err('enclave: a server answers on this port: stop it first, or rotate through the admin API (POST /api/v1/admin/keys/rotate-data).\n')
    return 1
  }
  openExistingDatabase(config.dataDir, false).close()
  const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now, previousMasterKey: readPreviousMasterKey(config.values, config.masterKey, process.cwd()) })
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
    store.close()
  }
}
