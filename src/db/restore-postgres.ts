/**
 * Restore into PostgreSQL (DATABASE_URL set): the backup format does not change with the engine
 * (a SQLite database inside backup-file.ts's format). Every check of a SQLite restore runs first
 * on the private copy (restore.ts's checkBackup); the copy is then brought to the latest schema as
 * a start would, and copied into the PostgreSQL database in one transaction (copy-store.ts), which
 * replaces what the database held only with --force. The file blobs go to DATA_DIR/files as in a
 * SQLite restore: on PostgreSQL they stay files, on the volume the instances share.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withoutPassword } from '../config/database-variables.ts'
import { readMasterKeyMaterial } from '../crypto/master-key.ts'
import { type SqlEngine } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { FILES_DIRECTORY } from './file-blobs.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { openDatabase } from './open-database.ts'
import { checkBackup, installFiles, stageBlobs, type RestoreOptions, type RestoreResult } from './restore.ts'
import { bringSqliteForward, copyAndCheckStore, isPostgresWithoutStore } from './store-transfer.ts'
import { unlockExistingDatabase } from './unlock.ts'

/** Checks a backup and copies it into the PostgreSQL database `sql` (at `url`), or refuses leaving it as it was. */
export async function restoreBackupIntoPostgres(sql: SqlEngine, url: string, options: RestoreOptions): Promise<RestoreResult> {
  const work = mkdtempSync(join(tmpdir(), 'enclave-restore-'))
  try {
    const checking = checkBackup(work, options)
    if (!checking.ok) return checking
    const { header, candidate, stored } = checking.checked
    if (!options.force && !(await isPostgresWithoutStore(sql))) {
      return { ok: false, reason: 'database_exists', message: `The PostgreSQL database ${withoutPassword(url)} holds a store already: restoring would replace it. Stop every instance and add --force to replace it.` }
    }
    const key = unlockExistingDatabase(stored, readMasterKeyMaterial(options.masterKey), options.masterKey)
    const schemaVersion = bringSqliteForward(candidate, key)
    const source = createSqliteEngine(openDatabase(candidate))
    try {
      const fileIds = new Set((await source.all<{ id: string }>('SELECT id FROM file')).map((row) => row.id))
      const staging = stageBlobs(checking.checked, options.dataDir, fileIds)
      try {
        await migratePostgres(sql)
        await copyAndCheckStore(source, sql, key)
      } catch (error) {
        rmSync(staging, { recursive: true, force: true })
        throw error
      }
      installFiles(staging, join(options.dataDir, FILES_DIRECTORY))
    } finally {
      await source.close()
    }
    return { ok: true, header, schemaVersion, databasePath: withoutPassword(url) }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
