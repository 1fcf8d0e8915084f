import { expect, test } from 'bun:test'
import { createInt8Scan } from './int8-scan.ts'
import { searchIndex, topK, vectorScores } from './vector-index.ts'

function unitRows(rows: number, dimensions: number, seed: number): Float32Array {
  let state = seed
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296) - 0.5
  const matrix = new Float32Array(rows * dimensions).map(random)
  for (let row = 0; row < rows; row++) {
    const slice = matrix.subarray(row * dimensions, (row + 1) * dimensions)
    const norm = Math.hypot(...slice)
    slice.forEach((x, i) => (slice[i] = x / norm))
  }
  return matrix
}

test.each([[768, 2000], [384, 500], [50, 300]])('the SIMD int8 scan ranks as the exact float32 scores do (%i dimensions)', (dimensions, rows) => {
  const matrix = unitRows(rows, dimensions, dimensions)
  const scan = createInt8Scan(matrix, rows, dimensions)
  for (let q = 0; q < 10; q++) {
    const query = unitRows(1, dimensions, 1000 + q)
    const exact = vectorScores({ rows, dimensions, matrix, terms: null, scan: null, bytes: 0 }, query)
    const approximate = scan.scan(query)
    // note: the exact best row is always among the scan's first 32 (the re-ranking window).
    const best = topK(exact, 1)[0]!.row
    expect(topK(approximate, 32).map((hit) => hit.row)).toContain(best)
    expect(Math.abs(approximate[best]! - exact[best]!)).toBeLessThan(0.02)
    expect(searchIndex({ rows, dimensions, matrix, terms: null, scan, bytes: 0 }, query, 5).map((hit) => hit.row)).toEqual(topK(exact, 5).map((hit) => hit.row))
  }
})

test('a row equal to the query scans first', () => {
  const matrix = unitRows(100, 64, 7)
  const scan = createInt8Scan(matrix, 100, 64)
  expect(topK(scan.scan(matrix.subarray(42 * 64, 43 * 64)), 1)[0]!.row).toBe(42)
})
