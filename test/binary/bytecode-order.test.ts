/**
 * The build's recording of a start (scripts/record-bytecode-order.ts): two starts of the compiled
 * binary leave two order files, later start first, and nothing else behind once removed; a binary
 * that does not serve gives no order (the build then keeps its first binary, scripts/build.ts).
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname } from 'node:path'
import { recordBytecodeOrder } from '../../scripts/record-bytecode-order.ts'
import { requireBinary } from '../helpers/binary.ts'

describe('recording the bytecode a start uses', () => {
  test('two starts of the binary give two order files, the later start first; remove() deletes them', async () => {
    const order = await recordBytecodeOrder(requireBinary())
    expect(order).not.toBeNull()
    const { paths, remove } = order!
    expect(paths.map((path) => path.split('/').pop())).toEqual(['later-start.order', 'first-start.order'])
    for (const path of paths) {
      const text = await Bun.file(path).text()
      // note: hashes of functions only: a version line, then one tagged hash a line.
      expect(text.startsWith('v2\n')).toBe(true)
      expect(text.split('\n').length).toBeGreaterThan(1_000)
      expect(text).not.toContain('function')
    }
    remove()
    expect(existsSync(dirname(paths[0]!))).toBe(false)
  }, 60_000)

  test('a binary that does not serve gives no order, and leaves no directory', async () => {
    const recordings = () => readdirSync(tmpdir()).filter((name) => name.startsWith('enclave-bytecode-order-')).sort()
    const before = recordings()
    expect(await recordBytecodeOrder('/bin/false')).toBeNull()
    expect(recordings()).toEqual(before)
  }, 60_000)
})
