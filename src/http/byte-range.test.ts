import { describe, expect, test } from 'bun:test'
import { parseByteRange } from './byte-range.ts'

describe('parseByteRange', () => {
  test('a single range, open-ended range and suffix, clamped to the file', () => {
    expect(parseByteRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 })
    expect(parseByteRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseByteRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseByteRange('bytes=-1000', 100)).toEqual({ kind: 'partial', start: 0, end: 99 })
    expect(parseByteRange('bytes=50-5000', 100)).toEqual({ kind: 'partial', start: 50, end: 99 })
    expect(parseByteRange('bytes=99-99', 100)).toEqual({ kind: 'partial', start: 99, end: 99 })
  })

  test('a range starting past the end, or an empty suffix, is unsatisfiable', () => {
    expect(parseByteRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseByteRange('bytes=100-200', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseByteRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseByteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseByteRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseByteRange('bytes=99999999999999999999-', 100)).toEqual({ kind: 'unsatisfiable' })
  })

  test('malformed, multiple, other units and hostile values are ignored: the whole file', () => {
    for (const header of [
      undefined, null, '', 'bytes=', 'bytes=-', 'bytes=5-1', 'bytes=0-1,5-9', 'items=0-1', 'bytes=a-b', 'bytes=-1-2',
      'bytes=0x10-', 'bytes=1e3-', 'bytes= 0-1', 'bytes=+1-2', 'bytes=-+1', 'bytes=0-999999999999999999999', 'bytes=1.5-2',
      `bytes=${'0'.repeat(200)}-1`, `bytes=0-1${','.repeat(10_000)}`, 'BYTES=0-1', 'bytes=0-1\n', 'bytes=\u0660-1',
    ]) expect(parseByteRange(header, 100)).toEqual({ kind: 'full' })
  })
})
