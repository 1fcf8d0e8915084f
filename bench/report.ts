/** The benchmark's output: one row per figure, each measured against its target, then a summary. */

/** A limit a figure must stay within: `atMost` for costs and sizes, `atLeast` for rates. */
export type Target = { kind: 'atMost' | 'atLeast'; limit: number; label: string }

export type BenchRow = {
  name: string
  /** Readable figures, already formatted with their units. */
  figures: string[]
  /** The one number the target judges, in the target's unit. */
  measured: number
  /** That number as printed, with its unit. */
  measuredText: string
  target: Target
}

/** What a row measures through: a public API (HTTP or WebSocket, as clients use it), a layer inside, the compiled binary, storage on disk, or the browser UI. */
export type RowKind = 'public API' | 'layer' | 'binary' | 'storage' | 'browser'

const KIND_PREFIX = /^(public API|layer|binary|storage|browser)( \(|:)/

/** Prefixes each row's name with what it measures through (`layer: ...`), unless its name already says. */
export function labelled(kind: RowKind, rows: readonly BenchRow[]): BenchRow[] {
  return rows.map((row) => (KIND_PREFIX.test(row.name) ? row : { ...row, name: `${kind}: ${row.name}` }))
}

/** Says whether the measured value is within its target. */
export function isTargetMet({ measured, target }: BenchRow): boolean {
  return target.kind === 'atMost' ? measured <= target.limit : measured >= target.limit
}

/** Formats a number with thousands separators and the given number of decimals. */
export function formatNumber(value: number, decimals = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals })
}

/** Formats a ratio as `1.22x`. */
export function formatRatio(value: number): string {
  return `${formatNumber(value, 2)}x`
}

/** Returns the table of rows, columns aligned, one line per row. */
export function formatTable(rows: readonly BenchRow[]): string {
  // note: rows have different numbers of figures; blank cells keep the target and verdict columns aligned.
  const figureColumns = Math.max(...rows.map((row) => row.figures.length))
  const cells = rows.map((row) => [
    row.name,
    ...Array.from({ length: figureColumns }, (_, i) => row.figures[i] ?? ''),
    `target ${row.target.label}`,
    isTargetMet(row) ? 'met' : 'MISSED',
  ])
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)))
  return cells.map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('   ').trimEnd()).join('\n')
}

/** Returns one line per target (verdict, figure, target, measured / target), then `targets met: N of M`. */
export function formatSummary(rows: readonly BenchRow[]): string {
  const nameWidth = Math.max(...rows.map((row) => row.name.length))
  const lines = rows.map((row) => {
    const verdict = isTargetMet(row) ? 'met   ' : 'MISSED'
    const share = formatNumber(row.measured / row.target.limit, 3)
    const needed = row.target.kind === 'atMost' ? '≤1 meets' : '≥1 meets'
    return `  ${verdict}  ${row.name.padEnd(nameWidth)}  ${row.measuredText} vs ${row.target.label}: measured/target ${share} (${needed})`
  })
  const met = rows.filter(isTargetMet).length
  return [...lines, `targets met: ${met} of ${rows.length}`].join('\n')
}
