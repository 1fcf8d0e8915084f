/**
 * The `Range` header of a download (RFC 9110 §14), for one representation of `size` bytes. Only a
 * single `bytes` range is served: `bytes=START-END`, `bytes=START-` or `bytes=-SUFFIX`, END clamped
 * to the last byte. Anything else (another unit, several ranges, a malformed or hostile value) is
 * ignored and the whole file is sent, as the RFC allows; a well-formed range that starts past the
 * end is unsatisfiable (416). Threat: a header is attacker-chosen text, so it is bounded in length
 * and digits before any number is read, and never yields a range outside the file.
 */
export type ByteRange = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' }

const MAX_HEADER_LENGTH = 100
const SINGLE_RANGE = /^bytes=(\d{0,20})-(\d{0,20})$/

export function parseByteRange(header: string | null | undefined, size: number): ByteRange {
  if (header == null || header.length > MAX_HEADER_LENGTH) return { kind: 'full' }
  const match = SINGLE_RANGE.exec(header)
  if (match === null) return { kind: 'full' }
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    // note: a suffix: the last N bytes; zero of them is no bytes at all.
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Number(last)
  if (last !== '' && end < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(end, size - 1) }
}
