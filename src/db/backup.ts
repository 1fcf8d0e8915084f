/**
 * Backups: a consistent snapshot of the live database (VACUUM INTO runs in one read transaction, so
 * writers carry on and the copy is one committed state), with the encrypted blobs of the files that
 * snapshot names (blobs never change once written, so the copy matches it), wrapped in the backup
 * format and, when a passphrase is given, encrypted whole. Temporary files sit beside the output, mode 0600, and are
 * removed whatever happens; the output appears only complete, by rename.
 */
import { Database } from 'bun:sqlite'
import { chmodSync, existsSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { KdfParams } from '../crypto/key-derivation.ts'
import { encryptFileWithPassphrase } from '../crypto/stream-cipher.ts'
import { writeBackupFile, type BackupBlob, type BackupHeader } from './backup-file.ts'
import { readKeyCheck } from './key-check.ts'
import { readSchemaVersion } from './migrate.ts'

export type BackupOptions = {
  passphrase: string | null; now: () => number; kdfParams?: KdfParams
  /** Where the file blobs are (DATA_DIR/files); absent or null for a database without any. */
  filesDir?: string | null
}

/** Writes a backup of the database to `outputPath`, replacing nothing: the caller removes an old file first. */
export function createBackup(db: Database, outputPath: string, options: BackupOptions): BackupHeader {
  const tag = crypto.randomUUID()
  const dir = dirname(outputPath)
  const snapshot = join(dir, `.enclave-snapshot-${tag}.db`)
  const plain = join(dir, `.enclave-backup-${tag}.tmp`)
  const encrypted = join(dir, `.enclave-backup-${tag}.enc`)
  try {
    db.query('VACUUM INTO ?').run(snapshot)
    chmodSync(snapshot, 0o600)
    const copy = new Database(snapshot, { readonly: true, strict: true })
    const facts = { schemaVersion: readSchemaVersion(copy), keyFingerprint: readKeyCheck(copy)?.fingerprint ?? '', createdAt: new Date(options.now()).toISOString() }
    const blobs = blobsOf(copy, options.filesDir ?? null)
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
    return header
  } finally {
    for (const path of [snapshot, plain, encrypted]) if (existsSync(path)) rmSync(path)
  }
}

/** The blobs of the files the snapshot names; a file deleted since the snapshot has none and is left out. */
function blobsOf(snapshot: Database, filesDir: string | null): BackupBlob[] {
  const hasFiles = snapshot.query<{ n: number }, []>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'file'").get()!.n > 0
  if (filesDir === null || !hasFiles) return []
  return snapshot.query<{ id: string }, []>('SELECT id FROM file ORDER BY id').all()
    .map(({ id }) => ({ id, path: join(filesDir, id) }))
    .filter((blob) => existsSync(blob.path))
}
