/**
 * Reference figures the issue quotes for a comparable product, Libre WebUI, measured on this kind
 * of machine through its public API. Printed for context beside Enclave's figures through its own
 * public API in this run, like with like: an append is a message stored by asking over the
 * product's API (Enclave: half a socket turn, which stores the question and the answer, in a
 * 2,000-message chat), a read is a 1,000-message chat opened over HTTP. Enclave's storage-layer
 * figures (inserts, reads) have no Libre WebUI counterpart and are not compared. They are not targets.
 */
import { formatNumber, formatRatio } from './report.ts'

export type OurFigures = {
  /** Time to chat:done of a socket turn in a 2,000-message chat, p50. */
  turnMsAt2000: number
  /** GET /api/v1/chats/{id} of a 1,000-message chat over HTTP, p50. */
  httpReadMs: number
  sizeRatio: number
}

const LIBRE_API_MESSAGES_PER_SECOND = 12
const LIBRE_API_READ_MS = 22.3
const LIBRE_SIZE_RATIO = 4.2

/** Returns the reference table, Libre WebUI's figure beside Enclave's for each measure, each row labelled with what it compares. */
export function formatReference({ turnMsAt2000, httpReadMs, sizeRatio }: OurFigures): string {
  const appends = (2 * 1000) / turnMsAt2000
  const rows = [
    ['measure', 'Libre WebUI (issue)', 'Enclave (this run)'],
    ['public API: append, as a chat turn', `~${LIBRE_API_MESSAGES_PER_SECOND} msg/s`,
      `${formatNumber(appends)} msg/s at 2,000 messages (${formatNumber(appends / LIBRE_API_MESSAGES_PER_SECOND, 1)}x)`],
    ['public API: open 1,000 messages over HTTP', `${LIBRE_API_READ_MS} ms p50`,
      `${formatNumber(httpReadMs, 2)} ms p50 (${formatNumber(LIBRE_API_READ_MS / httpReadMs, 1)}x faster)`],
    ['storage: database / plaintext', formatRatio(LIBRE_SIZE_RATIO), `${formatRatio(sizeRatio)} (${formatNumber(LIBRE_SIZE_RATIO / sizeRatio, 1)}x smaller)`],
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => '  ' + row.map((cell, column) => cell.padEnd(widths[column]!)).join('   ').trimEnd()).join('\n')
}
