/**
 * Reference figures the issue quotes for a comparable product, Libre WebUI, measured on this kind
 * of machine. Printed for context beside ours; they are not targets and are not measured here.
 */
import { formatNumber, formatRatio } from './report.ts'

export type OurFigures = { messagesPerSecond: number; readMs: number; sizeRatio: number }

const LIBRE_MESSAGES_PER_SECOND = 12
const LIBRE_READ_MS = { low: 25, high: 33 }
const LIBRE_SIZE_RATIO = 4.2

/** Returns the reference table, Libre WebUI's figure beside Enclave's for each measure. */
export function formatReference({ messagesPerSecond, readMs, sizeRatio }: OurFigures): string {
  const rows = [
    ['measure', 'Libre WebUI (issue)', 'Enclave (this run)'],
    ['inserts into one chat', `~${LIBRE_MESSAGES_PER_SECOND} msg/s`,
      `${formatNumber(messagesPerSecond)} msg/s (${formatNumber(messagesPerSecond / LIBRE_MESSAGES_PER_SECOND)}x faster)`],
    ['read 1,000 messages', `${LIBRE_READ_MS.low}-${LIBRE_READ_MS.high} ms`,
      `${formatNumber(readMs, 2)} ms (${formatNumber(LIBRE_READ_MS.low / readMs, 1)}x faster than the low end)`],
    ['database / plaintext', formatRatio(LIBRE_SIZE_RATIO), `${formatRatio(sizeRatio)} (${formatNumber(LIBRE_SIZE_RATIO / sizeRatio, 1)}x smaller)`],
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => '  ' + row.map((cell, column) => cell.padEnd(widths[column]!)).join('   ').trimEnd()).join('\n')
}
