/**
 * Group commit at the engine level: one-row inserts made concurrently through the SQLite engine
 * (src/db/sqlite-engine.ts), 16 in flight at a time as concurrent requests make them, against the floor
 * they replace, a raw one-row transaction per insert (BEGIN IMMEDIATE, INSERT, COMMIT through
 * bun:sqlite), each in its own database file in WAL mode with the store's settings, blocks of each
 * alternating in the same run. A lone write through the engine (one in flight) is shown beside it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSqliteEngine } from '../src/db/sqlite-engine.ts'
import { openDatabase } from '../src/db/open-database.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'

const BLOCKS = { warmups: 2, repetitions: 9 }
const BLOCK_ROWS = 1_000
const IN_FLIGHT = 16
const ROW_BYTES = 1024 + 33 // note: a sealed 1 KB message

export type GroupCommitFigures = { engineRowsPerSecond: number; loneRowsPerSecond: number; rawRowsPerSecond: number; ratio: number }

const SCHEMA = 'CREATE TABLE row (id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, content BLOB NOT NULL) STRICT'
const INSERT = 'INSERT INTO row (chat, content) VALUES (?, ?)'

export async function measureGroupCommit(): Promise<GroupCommitFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-group-commit-'))
  const raw = openDatabase(join(dir, 'raw.db'))
  const engine = createSqliteEngine(openDatabase(join(dir, 'engine.db')))
  try {
    raw.run(SCHEMA)
    await engine.exec(SCHEMA)
    const insert = raw.query<void, [number, Uint8Array]>(INSERT)
    const blob = crypto.getRandomValues(new Uint8Array(ROW_BYTES))
    const rawBlock = () => {
      const start = nowMs()
      for (let i = 0; i < BLOCK_ROWS; i++) raw.transaction(() => insert.run(1, blob)).immediate()
      return BLOCK_ROWS / ((nowMs() - start) / 1000)
    }
    const engineBlock = async (inFlight: number) => {
      const start = nowMs()
      for (let i = 0; i < BLOCK_ROWS; i += inFlight) {
        await Promise.all(Array.from({ length: inFlight }, () => engine.run(INSERT, 1, blob)))
      }
      return BLOCK_ROWS / ((nowMs() - start) / 1000)
    }
    const rawRates: number[] = []
    const engineRates: number[] = []
    const loneRates: number[] = []
    for (let block = 0; block < BLOCKS.warmups + BLOCKS.repetitions; block++) {
      const [r, e, l] = [rawBlock(), await engineBlock(IN_FLIGHT), await engineBlock(1)]
      if (block < BLOCKS.warmups) continue
      rawRates.push(r)
      engineRates.push(e)
      loneRates.push(l)
    }
    return {
      engineRowsPerSecond: median(engineRates),
      loneRowsPerSecond: median(loneRates),
      rawRowsPerSecond: median(rawRates),
      ratio: median(engineRates.map((rate, block) => rate / rawRates[block]!)),
    }
  } finally {
    raw.close()
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The engine's concurrent insert rate over the raw one-row-transaction rate, against ≥1.0x. */
export function groupCommitRows({ engineRowsPerSecond, loneRowsPerSecond, rawRowsPerSecond, ratio }: GroupCommitFigures): BenchRow[] {
  return [{
    name: `layer: engine inserts, ${IN_FLIGHT} in flight (group commit) vs a raw one-row transaction`,
    figures: [
      `${formatNumber(engineRowsPerSecond)} rows/s`,
      `raw ${formatNumber(rawRowsPerSecond)} rows/s`,
      `one in flight ${formatNumber(loneRowsPerSecond)} rows/s`,
      `ratio ${formatRatio(ratio)}`,
    ],
    measured: ratio,
    measuredText: formatRatio(ratio),
    target: { kind: 'atLeast', limit: 1, label: '≥1.0x' },
  }]
}

if (import.meta.main) {
  const figures = await measureGroupCommit()
  console.log(JSON.stringify(figures))
  const { formatTable } = await import('./report.ts')
  console.log(formatTable(groupCommitRows(figures)))
}
