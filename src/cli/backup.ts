/**
 * `enclave backup FILE` and `enclave restore FILE --data-dir D`. A backup is taken from its own
 * read-only connection, so the server keeps serving while it runs. With DATABASE_URL set, both work
 * on that PostgreSQL database, in the same backup format; the file blobs stay in DATA_DIR/files.
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { readKeyFile } from '../crypto/key-files.ts'
import { createBackup, createPostgresBackup, type BackupOptions, type PackedBackup } from '../db/backup.ts'
import type { BackupHeader } from '../db/backup-file.ts'
import { readPostgresSchemaVersion } from '../db/migrate-postgres.ts'
import { LATEST_SCHEMA_VERSION } from '../db/migrations.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { restoreBackupIntoPostgres } from '../db/restore-postgres.ts'
import { readEngineKeyCheck } from '../db/store-transfer.ts'
import { COPY_POOL, describePostgresFailure, showUrl } from './postgres-failure.ts'
import { FILES_DIRECTORY } from '../db/file-blobs.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { restoreBackup } from '../db/restore.ts'
import { checkHealth } from './healthcheck.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

export const MIN_BACKUP_PASSPHRASE_LENGTH = 12

/** Reads a backup passphrase from a file others cannot read; null with a message when unusable. */
function readPassphrase(file: string | undefined, io: Output): string | null | false {
  if (file === undefined) return null
  const passphrase = readKeyFile(resolve(process.cwd(), file), '--passphrase-file')
  if ([...passphrase].length < MIN_BACKUP_PASSPHRASE_LENGTH) {
    io.err(`enclave: the passphrase in ${file} is too short: use at least ${MIN_BACKUP_PASSPHRASE_LENGTH} characters.\n`)
    return false
  }
  return passphrase
}

/** Writes a consistent backup of DATA_DIR's database (or DATABASE_URL's) to FILE. Exit 0, or 1 when refused. */
export async function backupDatabase(config: Config, file: string, options: { passphraseFile?: string; force: boolean }, io: Output): Promise<number> {
  const output = resolve(process.cwd(), file)
  if (!existsSync(dirname(output))) {
    io.err(`enclave: the directory ${dirname(output)} does not exist: create it first.\n`)
    return 1
  }
  if (existsSync(output) && !options.force) {
    io.err(`enclave: ${output} already exists: choose another name, or add --force to replace it.\n`)
    return 1
  }
  const passphrase = readPassphrase(options.passphraseFile, io)
  if (passphrase === false) return 1
  const backupOptions: BackupOptions = { passphrase, now: Date.now, filesDir: join(config.dataDir, FILES_DIRECTORY) }
  const started = performance.now()
  let header: BackupHeader
  if (config.postgres !== null) {
    const taken = await backupPostgres(config.postgres.url, output, backupOptions, io)
    if (taken === null) return 1
    header = taken.header
    // note: on SQLite a missing blob is a file deleted since the snapshot; on PostgreSQL it is more likely a DATA_DIR that is not the instances' shared one.
    if (taken.missingBlobs > 0) io.err(`enclave: warning: ${taken.missingBlobs} uploaded file(s) the database names have no blob in ${backupOptions.filesDir}, so the backup holds them without their content: is DATA_DIR the volume the instances share?\n`)
  } else {
    const db = openExistingDatabase(config.dataDir, false)
    try {
      header = createBackup(db, output, backupOptions)
    } finally {
      db.close()
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  io.out(`Backup written to ${output}: schema version ${header.schemaVersion}, key fingerprint ${header.keyFingerprint}, ${header.databaseBytes} bytes of database, ${passphrase === null ? 'not passphrase-encrypted (its fields stay encrypted under the master key)' : 'encrypted with the passphrase'}, ${seconds} s.\n`)
  io.out('Restoring it needs the master key with that fingerprint: keep the key, apart from the backups.\n')
  return 0
}

/** The backup of a PostgreSQL store, or null with the reason printed. */
async function backupPostgres(url: string, output: string, options: BackupOptions, io: Output): Promise<PackedBackup | null> {
  const sql = createPostgresEngine({ url, pool: COPY_POOL })
  const shown = showUrl(url)
  try {
    if ((await readEngineKeyCheck(sql)) === null) {
      io.err(`enclave: ${shown} holds no Enclave store: there is nothing to back up.\n`)
      return null
    }
    const version = await readPostgresSchemaVersion(sql)
    if (version !== LATEST_SCHEMA_VERSION) {
      io.err(`enclave: the store on ${shown} has schema version ${version}, and this Enclave writes backups of version ${LATEST_SCHEMA_VERSION}: back it up with the Enclave that runs on it.\n`)
      return null
    }
    return await createPostgresBackup(sql, output, options)
  } catch (error) {
    const problem = describePostgresFailure(error, shown)
    if (problem === null) throw error
    io.err(`enclave: backup failed: ${problem}\n`)
    return null
  } finally {
    await sql.close().catch(() => {})
  }
}

/** Checks FILE and restores it into DATA_DIR (--data-dir). Exit 0, or 1 with the reason, DATA_DIR untouched. */
export async function restoreDatabase(config: Config, file: string, options: { passphraseFile?: string; force: boolean }, io: Output): Promise<number> {
  if (options.force && (await checkHealth(config, 1000)).ok) {
    io.err('enclave: a server answers on this port: stop it before replacing its database with --force.\n')
    return 1
  }
  const passphrase = readPassphrase(options.passphraseFile, io)
  if (passphrase === false) return 1
  const backupPath = resolve(process.cwd(), file)
  if (!existsSync(backupPath)) {
    io.err(`enclave: ${backupPath} does not exist.\n`)
    return 1
  }
  const restoreOptions = { backupPath, dataDir: config.dataDir, passphrase, masterKey: config.masterKey, force: options.force }
  const result = config.postgres === null ? restoreBackup(restoreOptions) : await restoreIntoPostgres(config.postgres.url, restoreOptions, io)
  if (result === null) return 1
  if (!result.ok) {
    io.err(`enclave: restore refused (${result.reason}): ${result.message} Nothing in ${config.postgres === null ? config.dataDir : `${config.dataDir} or ${showUrl(config.postgres.url)}`} was changed.\n`)
    return 1
  }
  const migrated = result.schemaVersion === result.header.schemaVersion ? `schema version ${result.schemaVersion}` : `schema migrated from version ${result.header.schemaVersion} to ${result.schemaVersion}`
  io.out(`Restored the backup taken ${result.header.createdAt} into ${result.databasePath} (${migrated}, key fingerprint ${result.header.keyFingerprint}).\n`)
  return 0
}

/** Restores into DATABASE_URL's PostgreSQL; null with the reason printed when PostgreSQL failed. */
async function restoreIntoPostgres(url: string, options: Parameters<typeof restoreBackupIntoPostgres>[2], io: Output) {
  const sql = createPostgresEngine({ url, pool: COPY_POOL })
  const shown = showUrl(url)
  try {
    return await restoreBackupIntoPostgres(sql, url, options)
  } catch (error) {
    const problem = describePostgresFailure(error, shown)
    if (problem === null) throw error
    io.err(`enclave: restore failed: ${problem} The PostgreSQL database was left as it was.\n`)
    return null
  } finally {
    await sql.close().catch(() => {})
  }
}
