/**
 * Refuses to make a new database where one was lost. A start that finds no Enclave database (no
 * file, a 0-byte one, or one without Enclave's tables) creates a fresh one, open for a first admin
 * to sign up; over a database emptied or deleted by accident, that would hide the loss and hand the
 * server to whoever signs up first. So a new database is made only where DATA_DIR shows no earlier
 * run: no session secret file and no audit log (both are written only once a database exists), and
 * no database file beside the generated key file (the key is written just before the database).
 * A prepared key file, or ENCRYPTION_KEY, with no database file is a first start.
 */
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { SESSION_SECRET_FILE } from '../crypto/session-secret.ts'

/** Files of an earlier run that are written only after the database was created. */
const LATER_FILES = [SESSION_SECRET_FILE, 'audit.log']

/** DATA_DIR shows an earlier run, but its database is missing or empty. */
export class LostDatabaseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'LostDatabaseError'
  }
}

/**
 * Throws LostDatabaseError when a new database is about to be made at `databasePath` (there is no
 * file, or `hasDatabaseFile` and it holds no Enclave database) but DATA_DIR shows an earlier run.
 */
export function refuseToReplaceLostDatabase(dataDir: string, databasePath: string, hasDatabaseFile: boolean, masterKey: MasterKeySource): void {
  const traces = LATER_FILES.filter((name) => existsSync(join(dataDir, name)))
  if (hasDatabaseFile && masterKey.kind === 'generated' && existsSync(masterKey.path)) traces.push(basename(masterKey.path))
  if (traces.length === 0) return
  const found = hasDatabaseFile ? `${databasePath} is empty or holds no Enclave database` : `${databasePath} is missing`
  const toMove = hasDatabaseFile ? [basename(databasePath), ...traces] : traces
  throw new LostDatabaseError(
    `${found}, but ${dataDir} holds ${traces.join(', ')} from an earlier run, so its data may have been lost. ` +
    `Check DATA_DIR, and restore the database from a backup (enclave restore FILE --data-dir ${dataDir}). ` +
    `To start afresh on purpose, move ${toMove.join(', ')} out of ${dataDir} first (keep a copy of any key).`,
  )
}
