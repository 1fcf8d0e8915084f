/**
 * The two engines through the one contract (src/db/engine.ts), same run, same rows: one-row inserts
 * of a 1 KB blob (a sealed message's size), each its own commit, and a 1,000-row read with its blobs.
 * SQLite is a file in a temp dir with Enclave's settings (WAL, synchronous NORMAL); PostgreSQL is a
 * local server started for the run (test/helpers/postgres.ts: loopback TCP, fsync and
 * synchronous_commit off, so neither engine waits for the disk on a commit). Skipped, with a line
 * saying so, where the PostgreSQL server binaries are not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type SqlEngine } from '../src/db/engine.ts'
import { createSqliteEngine } from '../src/db/sqlite-engine.ts'
import { openDatabase } from '../src/db/open-database.ts'
import { createPostgresEngine } from '../src/db/postgres-engine.ts'
import { findPostgresBin, startPostgres } from '../test/helpers/postgres.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'

const INSERTS = 2_000
const READ_ROWS = 1_000
const BLOB_BYTES = 1024
const READ_RUNS = { warmups: 5, repetitions: 20 }

type EngineFigures = { insertsPerSecond: number; readMs: number }
export type EnginePostgresFigures = { sqlite: EngineFigures; postgres: EngineFigures }

/** Measures both engines; null when PostgreSQL is not installed. */
export async function measureEnginePostgres(): Promise<EnginePostgresFigures | null> {
  try {
    findPostgresBin()
  } catch (error) {
    console.log(`engine bench: PostgreSQL skipped: ${(error as Error).message}`)
    return null
  }
  const dir = mkdtempSync(join(tmpdir(), 'enclave-engine-bench-'))
  const server = await startPostgres()
  try {
    const sqlite = await measureEngine(createSqliteEngine(openDatabase(join(dir, 'bench.db'))), 'BLOB')
    const pool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
    const postgres = await measureEngine(createPostgresEngine({ url: await server.createDatabase(), pool }), 'BYTEA')
    return { sqlite, postgres }
  } finally {
    await server.remove()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function measureEngine(sql: SqlEngine, blobType: string): Promise<EngineFigures> {
  try {
    await sql.exec(`CREATE TABLE row_bench (id BIGINT PRIMARY KEY, chat TEXT NOT NULL, content ${blobType} NOT NULL, created_at BIGINT NOT NULL)`)
    const blob = new Uint8Array(BLOB_BYTES).map((_, i) => i % 251)
    for (let i = 0; i < 100; i++) await sql.run('INSERT INTO row_bench (id, chat, content, created_at) VALUES (?, ?, ?, ?)', -1 - i, 'warm-up', blob, i)
    const start = nowMs()
    for (let i = 0; i < INSERTS; i++) await sql.run('INSERT INTO row_bench (id, chat, content, created_at) VALUES (?, ?, ?, ?)', i, i < READ_ROWS ? 'read' : 'other', blob, 1_764_000_000_000 + i)
    const insertsPerSecond = INSERTS / ((nowMs() - start) / 1000)

    const read = () => sql.all<{ id: number; content: Uint8Array }>('SELECT id, content, created_at FROM row_bench WHERE chat = ? ORDER BY id', 'read')
    for (let i = 0; i < READ_RUNS.warmups; i++) await read()
    const times: number[] = []
    for (let i = 0; i < READ_RUNS.repetitions; i++) {
      const begin = nowMs()
      const rows = await read()
      times.push(nowMs() - begin)
      if (rows.length !== READ_ROWS || rows[READ_ROWS - 1]!.content.byteLength !== BLOB_BYTES) throw new Error('the rows read back differ from those written')
    }
    return { insertsPerSecond, readMs: median(times) }
  } finally {
    await sql.close()
  }
}

/** PostgreSQL's figures beside SQLite's, with targets for PostgreSQL. */
export function enginePostgresRows(figures: EnginePostgresFigures | null): BenchRow[] {
  if (figures === null) return []
  const { sqlite, postgres } = figures
  return [{
    name: 'engine: one-row inserts (1 KB blob), PostgreSQL beside SQLite',
    figures: [`${formatNumber(postgres.insertsPerSecond)} rows/s`, `SQLite ${formatNumber(sqlite.insertsPerSecond)} rows/s`, `SQLite/PostgreSQL ${formatRatio(sqlite.insertsPerSecond / postgres.insertsPerSecond)}`],
    measured: postgres.insertsPerSecond,
    measuredText: `${formatNumber(postgres.insertsPerSecond)} rows/s`,
    target: { kind: 'atLeast', limit: 1_000, label: '≥1,000 rows/s' },
  }, {
    name: `engine: read ${formatNumber(READ_ROWS)} rows (1 KB blobs), PostgreSQL beside SQLite`,
    figures: [`${formatNumber(postgres.readMs, 2)} ms median`, `SQLite ${formatNumber(sqlite.readMs, 2)} ms`, `PostgreSQL/SQLite ${formatRatio(postgres.readMs / sqlite.readMs)}`],
    measured: postgres.readMs,
    measuredText: `${formatNumber(postgres.readMs, 2)} ms`,
    target: { kind: 'atMost', limit: 20, label: '≤20 ms' },
  }]
}

if (import.meta.main) {
  const { formatTable } = await import('./report.ts')
  const rows = enginePostgresRows(await measureEnginePostgres())
  if (rows.length > 0) console.log(formatTable(rows))
}
