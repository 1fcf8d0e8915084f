/**
 * Restore: every check runs on a private copy (in the system's temporary directory, which any user
 * may write, unlike DATA_DIR's parent in a container) before DATA_DIR is touched; the checked
 * database is then copied into DATA_DIR and put in place by one rename on that filesystem. Refused: a file that is not a backup, a wrong passphrase,
 * a bad checksum, a schema newer than this Enclave, a key that is not the one the backup was
 * written under, a schema that is not exactly Enclave's own at its version (a trigger, view, extra
 * table or altered table: see schema-match.ts), and an existing database unless forced. An older
 * schema is migrated forward on the copy. The uploaded files' blobs the restored database names
 * replace DATA_DIR/files once the database is in place.
 */
import { Database } from 'bun:sqlite'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { readMasterKeyMaterial } from '../crypto/master-key.ts'
import { decryptFileWithPassphrase, isEncryptedFile } from '../crypto/stream-cipher.ts'
import { extractBlobs, extractPayload, payloadMatchesChecksum, readBackupHeader, type BackupHeader } from './backup-file.ts'
import { FILES_DIRECTORY } from './file-blobs.ts'
import { readKeyCheck, type StoredKeyCheck } from './key-check.ts'
import { migrate, readSchemaVersion } from './migrate.ts'
import { LATEST_SCHEMA_VERSION } from './migrations.ts'
import { closeDatabase, openDatabase } from './open-database.ts'
import { DATABASE_FILE } from './open-store.ts'
import { findSchemaDifference } from './schema-match.ts'
import { materialMatches } from './unlock.ts'

export type RestoreRefusalReason =
  | 'not_a_backup' | 'malformed_header' | 'unknown_format' | 'needs_passphrase' | 'wrong_passphrase_or_damaged' | 'truncated'
  | 'checksum_mismatch' | 'not_a_database' | 'schema_too_new' | 'unexpected_schema' | 'no_key' | 'key_mismatch' | 'database_exists'

export type RestoreResult =
  | { ok: true; header: BackupHeader; schemaVersion: number; databasePath: string }
  | { ok: false; reason: RestoreRefusalReason; message: string }

export type RestoreOptions = { backupPath: string; dataDir: string; passphrase: string | null; masterKey: MasterKeySource; force: boolean }

/** Checks a backup and installs it as DATA_DIR's database, or refuses leaving DATA_DIR as it was. */
export function restoreBackup(options: RestoreOptions): RestoreResult {
  const work = mkdtempSync(join(tmpdir(), 'enclave-restore-'))
  try {
    return restoreVia(work, options)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

function refuse(reason: RestoreRefusalReason, message: string): Extract<RestoreResult, { ok: false }> {
  return { ok: false, reason, message }
}

/** A backup that passed every check, extracted into the work directory: its database (`candidate`) not yet migrated. */
export type CheckedBackup = { header: BackupHeader; plainPath: string; payloadOffset: number; candidate: string; stored: StoredKeyCheck }

/** Runs every check of a restore on a private copy in `work`; touches nothing else. */
export function checkBackup(work: string, { backupPath, dataDir, passphrase, masterKey }: Omit<RestoreOptions, 'force'>): { ok: true; checked: CheckedBackup } | Extract<RestoreResult, { ok: false }> {
  let plainPath = backupPath
  if (isEncryptedFile(backupPath)) {
    if (passphrase === null) return refuse('needs_passphrase', 'This backup is encrypted with a passphrase: give it with --passphrase-file.')
    plainPath = join(work, 'backup.plain')
    const decrypted = decryptFileWithPassphrase(backupPath, plainPath, passphrase)
    if (!decrypted.ok) {
      const messages = {
        not_encrypted: 'The backup is not encrypted.', malformed_header: 'The encrypted backup\'s header is damaged or from an unknown version.',
        wrong_passphrase_or_damaged: 'The passphrase is wrong, or the backup is damaged.', truncated: 'The backup is truncated: it ends before its last part.',
      } as const
      return refuse(decrypted.reason === 'not_encrypted' || decrypted.reason === 'malformed_header' ? 'malformed_header' : decrypted.reason, messages[decrypted.reason])
    }
  }
  const read = readBackupHeader(plainPath)
  if (!read.ok) {
    return refuse(read.reason, read.reason === 'not_a_backup' ? 'This file is not an Enclave backup.' : read.reason === 'unknown_format' ? 'This backup was written in a format this Enclave does not know: use a newer Enclave.' : 'The backup header is damaged.')
  }
  const { header, payloadOffset } = read
  if (!payloadMatchesChecksum(plainPath, header, payloadOffset)) return refuse('checksum_mismatch', 'The backup is damaged: its checksum does not match.')
  if (header.schemaVersion > LATEST_SCHEMA_VERSION) {
    return refuse('schema_too_new', `The backup has schema version ${header.schemaVersion}, newer than this Enclave knows (${LATEST_SCHEMA_VERSION}): restore it with the Enclave that wrote it or a newer one.`)
  }
  const candidate = join(work, DATABASE_FILE)
  extractPayload(plainPath, payloadOffset, header.databaseBytes, candidate)
  const facts = readCandidate(candidate)
  if (facts === null || facts.fingerprint !== header.keyFingerprint || facts.schemaVersion !== header.schemaVersion) {
    return refuse('not_a_database', 'The backup does not hold an Enclave database matching its header.')
  }
  if (facts.schemaDifference !== null) {
    return refuse('unexpected_schema', `The backup's database is not Enclave's schema version ${facts.schemaVersion}: ${facts.schemaDifference}. It was changed after it was written, so it is not restored.`)
  }
  const material = readMasterKeyMaterial(masterKey)
  if (material === null) {
    return refuse('no_key', `No master key is configured for ${dataDir}: put the key the backup was written under (fingerprint ${header.keyFingerprint}) in ${masterKey.kind === 'generated' ? masterKey.path : 'ENCRYPTION_KEY_FILE'}, or set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE.`)
  }
  if (!materialMatches(facts.stored, material)) {
    return refuse('key_mismatch', `The configured master key is not the one this backup was written under (backup key fingerprint ${header.keyFingerprint}). Configure that key, then restore again.`)
  }
  return { ok: true, checked: { header, plainPath, payloadOffset, candidate, stored: facts.stored } }
}

function restoreVia(work: string, options: RestoreOptions): RestoreResult {
  const checking = checkBackup(work, options)
  if (!checking.ok) return checking
  const { header, candidate } = checking.checked
  const { dataDir, force } = options
  const target = join(dataDir, DATABASE_FILE)
  if (existsSync(target) && !force) return refuse('database_exists', `${target} already exists: restoring would replace it. Stop the server and add --force to replace it.`)
  const db = openDatabase(candidate)
  const schemaVersion = migrate(db)
  const fileIds = new Set(db.query<{ id: string }, []>('SELECT id FROM file').all().map((row) => row.id))
  closeDatabase(db)
  const staging = stageBlobs(checking.checked, dataDir, fileIds)
  try {
    installDatabase(candidate, target)
  } catch (error) {
    rmSync(staging, { recursive: true, force: true })
    throw error
  }
  installFiles(staging, join(dataDir, FILES_DIRECTORY))
  return { ok: true, header, schemaVersion, databasePath: target }
}

/** Extracts the blobs of `fileIds` into a new staging directory inside DATA_DIR (made when missing); returns it. */
export function stageBlobs({ header, plainPath, payloadOffset }: CheckedBackup, dataDir: string, fileIds: ReadonlySet<string>): string {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const staging = join(dataDir, `.files-restoring-${crypto.randomUUID()}`)
  mkdirSync(staging, { mode: 0o700 })
  try {
    extractBlobs(plainPath, header, payloadOffset, staging, (id) => fileIds.has(id))
  } catch (error) {
    rmSync(staging, { recursive: true, force: true })
    throw error
  }
  return staging
}

/**
 * Puts `candidate` at `target`: copied beside it first (same filesystem, so the rename is atomic),
 * then the replaced database's WAL files are moved aside, the copy renamed into place, and only
 * then the old WAL files removed. A failure before the rename puts the WAL files back, so the
 * database that was there keeps every committed transaction.
 */
function installDatabase(candidate: string, target: string): void {
  const incoming = `${target}.restoring`
  copyFileSync(candidate, incoming)
  chmodSync(incoming, 0o600)
  const walFiles = [`${target}-wal`, `${target}-shm`].filter((path) => existsSync(path))
  for (const path of walFiles) renameSync(path, `${path}.replaced`)
  try {
    renameSync(incoming, target)
  } catch (error) {
    for (const path of walFiles) renameSync(`${path}.replaced`, path)
    rmSync(incoming, { force: true })
    throw error
  }
  for (const path of walFiles) rmSync(`${path}.replaced`, { force: true })
}

/** Puts the restored blobs in place of the files directory there was (whose files belonged to the replaced database). */
export function installFiles(staging: string, target: string): void {
  const replaced = `${target}.replaced-${crypto.randomUUID()}`
  if (existsSync(target)) renameSync(target, replaced)
  renameSync(staging, target)
  rmSync(replaced, { recursive: true, force: true })
}

function readCandidate(path: string) {
  try {
    const db = new Database(path, { readonly: true, strict: true })
    try {
      const stored = readKeyCheck(db)
      if (stored === null) return null
      const schemaVersion = readSchemaVersion(db)
      return { stored, fingerprint: stored.fingerprint, schemaVersion, schemaDifference: findSchemaDifference(db, schemaVersion) }
    } finally {
      db.close()
    }
  } catch {
    return null
  }
}
