/**
 * Backups: a consistent snapshot of the live database (VACUUM INTO runs in one read transaction, so
 * writers carry on and the copy is one committed state), with the encrypted blobs of the files that
 * snapshot names (blobs never change once written, so the copy matches it), wrapped in the backup
 * format and, when a passphrase is given, encrypted whole. On PostgreSQL, the snapshot is a copy of
 * its tables into a temporary SQLite database (createPostgresBackup), so the format is the same.
 * Temporary files sit beside the output, mode 0600, and are removed whatever happens; the output
 * appears only complete, by rename.
 */
import { Database } from 'bun:sqlite'
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { KdfParams } from '../crypto/key-derivation.ts'
import { encryptFileWithPassphrase } from '../crypto/stream-cipher.ts'
import { writeBackupFile, type BackupBlob, type BackupHeader } from './backup-file.ts'
import { readKeyCheck } from './key-check.ts'
import { type SqlEngine } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { migrate, readSchemaVersion } from './migrate.ts'
import { openDatabase } from './open-database.ts'
import { copyAndCheckStore } from './store-transfer.ts'

export type BackupOptions = {
  passphrase: string | null; now: () => number; kdfParams?: KdfParams
  /** Where the file blobs are (DATA_DIR/files); absent or null for a database without any. */
  filesDir?: string | null
}

/** Writes a backup of the database to `outputPath`, replacing nothing: the caller removes an old file first. */
export function createBackup(db: Database, outputPath: string, options: BackupOptions): BackupHeader {
  const paths = backupPaths(outputPath)
  try {
    db.query('VACUUM INTO ?').run(paths.snapshot)
    return packSnapshot(paths, outputPath, options).header
  } finally {
    removeLeftovers(paths)
  }
}

/**
 * Writes a backup of the PostgreSQL store `sql` in the same format: its tables are copied, in one
 * REPEATABLE READ READ ONLY transaction (one committed state while the instances keep writing),
 * into a temporary SQLite database at the latest schema, which is then packed as above. The
 * PostgreSQL store must be at the latest schema (the caller checks).
 */
export async function createPostgresBackup(sql: SqlEngine, outputPath: string, options: BackupOptions): Promise<PackedBackup> {
  const paths = backupPaths(outputPath)
  try {
    const db = openDatabase(paths.snapshot)
    migrate(db)
    const target = createSqliteEngine(db)
    try {
      await copyAndCheckStore(sql, target, null)
      // note: one file, no WAL beside it: the backup carries the database file alone. The snapshot is
      // this connection's alone (no checkpointer worker, nothing else opens it), so its TRUNCATE is never
      // answered busy; and the change of journal mode throws if the WAL could not go.
      await target.exec('PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE')
    } finally {
      await target.close()
    }
    return packSnapshot(paths, outputPath, options)
  } finally {
    removeLeftovers(paths)
  }
}

/** A written backup, and how many of the files it names had no blob in filesDir (left out). */
export type PackedBackup = { header: BackupHeader; missingBlobs: number }

type BackupPaths = { snapshot: string; plain: string; encrypted: string }

/** Temporary files beside the output, so the final rename stays on one filesystem. */
function backupPaths(outputPath: string): BackupPaths {
  const tag = crypto.randomUUID()
  const dir = dirname(outputPath)
  return { snapshot: join(dir, `.enclave-snapshot-${tag}.db`), plain: join(dir, `.enclave-backup-${tag}.tmp`), encrypted: join(dir, `.enclave-backup-${tag}.enc`) }
}

function removeLeftovers({ snapshot, plain, encrypted }: BackupPaths): void {
  for (const path of [snapshot, `${snapshot}-wal`, `${snapshot}-shm`, plain, encrypted]) if (existsSync(path)) rmSync(path)
}

/** Wraps a snapshot database (and the blobs it names) in the backup format, encrypted when a passphrase is given. */
function packSnapshot({ snapshot, plain, encrypted }: BackupPaths, outputPath: string, options: BackupOptions): PackedBackup {
  chmodSync(snapshot, 0o600)
  const copy = new Database(snapshot, { readonly: true, strict: true })
  const facts = { schemaVersion: readSchemaVersion(copy), keyFingerprint: readKeyCheck(copy)?.fingerprint ?? '', createdAt: new Date(options.now()).toISOString() }
  const { blobs, named } = blobsOf(copy, options.filesDir ?? null)
  copy.close()
  if (facts.keyFingerprint === '') throw new Error('the database has no key check: it was never initialised')
  const header = writeBackupFile(snapshot, plain, facts, blobs)
  rmSync(snapshot)
  if (options.passphrase !== null) {
    encryptFileWithPassphrase(plain, encrypted, options.passphrase, options.kdfParams)
    renameSync(encrypted, outputPath)
  } else {
    renameSync(plain, outputPath)
  }
  return { header, missingBlobs: named - blobs.length }
}

/** The blobs of the files the snapshot names; a file deleted since the snapshot has none and is left out. */
function blobsOf(snapshot: Database, filesDir: string | null): { blobs: BackupBlob[]; named: number } {
  const hasFiles = snapshot.query<{ n: number }, []>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'file'").get()!.n > 0
  if (!hasFiles) return { blobs: [], named: 0 }
  const ids = snapshot.query<{ id: string }, []>('SELECT id FROM file ORDER BY id').all()
  if (filesDir === null) return { blobs: [], named: ids.length }
  return { blobs: ids.map(({ id }) => ({ id, path: join(filesDir, id) })).filter((blob) => existsSync(blob.path)), named: ids.length }
}
