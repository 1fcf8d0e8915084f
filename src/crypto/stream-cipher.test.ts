import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decryptFileWithPassphrase, encryptFileWithPassphrase, isEncryptedFile } from './stream-cipher.ts'

// note: fast scrypt parameters for the tests; the product uses N=2^17.
const fast = { N: 2 ** 14, r: 8, p: 1 }
const passphrase = `pass-${crypto.randomUUID()}`
let dir = ''
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-stream-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

function roundTrip(size: number) {
  const plain = new Uint8Array(size).map((_, i) => (i * 31) & 0xff)
  writeFileSync(join(dir, 'in'), plain)
  encryptFileWithPassphrase(join(dir, 'in'), join(dir, 'enc'), passphrase, fast)
  return plain
}

describe('round trip', () => {
  test.each([0, 1, 65535, 65536, 65537, 3 * 65536, 200_000])('%i bytes', (size) => {
    const plain = roundTrip(size)
    expect(isEncryptedFile(join(dir, 'enc'))).toBe(true)
    expect(statSync(join(dir, 'enc')).mode & 0o777).toBe(0o600)
    expect(decryptFileWithPassphrase(join(dir, 'enc'), join(dir, 'out'), passphrase)).toEqual({ ok: true })
    expect(Buffer.from(readFileSync(join(dir, 'out'))).equals(Buffer.from(plain))).toBe(true)
  })
})

describe('refusals', () => {
  test('a wrong passphrase', () => {
    roundTrip(1000)
    expect(decryptFileWithPassphrase(join(dir, 'enc'), join(dir, 'out'), 'another passphrase entirely')).toEqual({ ok: false, reason: 'wrong_passphrase_or_damaged' })
  })
  test('truncated at a chunk boundary or inside a chunk', () => {
    roundTrip(3 * 65536 + 10)
    const full = statSync(join(dir, 'enc')).size
    for (const cut of [full - 1, full - 26, 12 + 200 + 65536 + 16]) {
      writeFileSync(join(dir, 'cut'), readFileSync(join(dir, 'enc')).subarray(0, cut))
      rmSync(join(dir, 'out'), { force: true })
      const result = decryptFileWithPassphrase(join(dir, 'cut'), join(dir, 'out'), passphrase)
      expect(result.ok).toBe(false)
    }
  })
  test('a flipped byte anywhere after the magic', () => {
    roundTrip(70_000)
    const bytes = readFileSync(join(dir, 'enc'))
    for (const at of [9, 20, 200, 5000, bytes.length - 1]) {
      const altered = Buffer.from(bytes)
      altered[at]! ^= 1
      writeFileSync(join(dir, 'bad'), altered)
      rmSync(join(dir, 'out'), { force: true })
      expect(decryptFileWithPassphrase(join(dir, 'bad'), join(dir, 'out'), passphrase).ok).toBe(false)
    }
  })
  test('a plain file, and a hostile header asking for huge scrypt memory', () => {
    writeFileSync(join(dir, 'plain'), 'SQLite format 3\0')
    expect(decryptFileWithPassphrase(join(dir, 'plain'), join(dir, 'out'), passphrase)).toEqual({ ok: false, reason: 'not_encrypted' })
    const json = Buffer.from(JSON.stringify({ format: 1, kdf: 'scrypt', N: 2 ** 30, r: 8, p: 1, salt: Buffer.alloc(16).toString('base64'), chunkBytes: 65536, noncePrefix: Buffer.alloc(7).toString('base64') }))
    const length = Buffer.alloc(4)
    length.writeUInt32BE(json.length)
    writeFileSync(join(dir, 'hostile'), Buffer.concat([Buffer.from('ENCLBKE1'), length, json]))
    expect(decryptFileWithPassphrase(join(dir, 'hostile'), join(dir, 'out'), passphrase)).toEqual({ ok: false, reason: 'malformed_header' })
    truncateSync(join(dir, 'hostile'), 10)
    expect(decryptFileWithPassphrase(join(dir, 'hostile'), join(dir, 'out2'), passphrase)).toEqual({ ok: false, reason: 'not_encrypted' })
  })
})
