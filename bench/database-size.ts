/** Size: the database on disk after a checkpoint, against the plaintext it holds. */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DATABASE_FILE } from '../src/db/open-store.ts'
import type { BenchStore } from './bench-store.ts'
import { formatNumber, type BenchRow } from './report.ts'

export type SizeFigures = { databaseBytes: number; plaintextBytes: number }

/** Checkpoints the WAL into the database file, then sums the file and any WAL left over. */
export function measureDatabaseSize({ store, dataDir }: BenchStore, plaintextBytes: number): SizeFigures {
  store.db.run('PRAGMA wal_checkpoint(TRUNCATE)')
  const databasePath = join(dataDir, DATABASE_FILE)
  const walPath = `${databasePath}-wal`
  const walBytes = existsSync(walPath) ? statSync(walPath).size : 0
  return { databaseBytes: statSync(databasePath).size + walBytes, plaintextBytes }
}

/** Returns the database/plaintext ratio against ≤1.2x. */
export function databaseSizeRows({ databaseBytes, plaintextBytes }: SizeFigures): BenchRow[] {
  const ratio = databaseBytes / plaintextBytes
  const mebibytes = (bytes: number) => `${formatNumber(bytes / 1024 / 1024, 2)} MiB`
  const ratioText = `${formatNumber(ratio, 3)}x` // note: three decimals, so 1.204x doesn't print as a missed 1.20x
  return [{
    name: 'database size / plaintext',
    figures: [`db ${mebibytes(databaseBytes)}`, `plaintext ${mebibytes(plaintextBytes)}`, `ratio ${ratioText}`],
    measured: ratio,
    measuredText: ratioText,
    target: { kind: 'atMost', limit: 1.2, label: '≤1.2x' },
  }]
}
