import { afterEach, beforeEach, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { payloadMatchesChecksum, readBackupHeader, writeBackupFile } from './backup-file.ts'

let dir = ''
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-backup-file-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })
const facts = { schemaVersion: 3, keyFingerprint: '1a2b-3c4d-5e6f-7a8b', createdAt: '2026-01-01T00:00:00.000Z' }

function withHeader(json: string, payload = 'payload'): string {
  const body = Buffer.from(json)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length)
  const path = join(dir, `crafted-${crypto.randomUUID()}`)
  writeFileSync(path, Buffer.concat([Buffer.from('ENCLBKP1'), length, body, Buffer.from(payload)]))
  return path
}

test('writes and reads back the header; the checksum covers every payload byte', () => {
  writeFileSync(join(dir, 'db'), 'database bytes '.repeat(1000))
  const header = writeBackupFile(join(dir, 'db'), join(dir, 'out'), facts)
  const read = readBackupHeader(join(dir, 'out'))
  expect(read).toEqual({ ok: true, header, payloadOffset: expect.any(Number) })
  if (!read.ok) return
  expect(payloadMatchesChecksum(join(dir, 'out'), read.header, read.payloadOffset)).toBe(true)
  const bytes = readFileSync(join(dir, 'out'))
  bytes[bytes.length - 1]! ^= 1
  writeFileSync(join(dir, 'out'), bytes)
  expect(payloadMatchesChecksum(join(dir, 'out'), read.header, read.payloadOffset)).toBe(false)
})

test.each([
  ['not JSON', '{nope', 'malformed_header'],
  ['JSON null', 'null', 'malformed_header'],
  ['a format from the future', JSON.stringify({ format: 3 }), 'unknown_format'],
  ['a negative size', JSON.stringify({ format: 1, ...facts, databaseBytes: -5, sha256: 'a'.repeat(64) }), 'malformed_header'],
  ['a fingerprint that is no fingerprint', JSON.stringify({ format: 1, ...facts, keyFingerprint: '../../etc', databaseBytes: 7, sha256: 'a'.repeat(64) }), 'malformed_header'],
  ['a schema version that is text', JSON.stringify({ format: 1, ...facts, schemaVersion: '3', databaseBytes: 7, sha256: 'a'.repeat(64) }), 'malformed_header'],
])('refuses a header with %s', (_, json, reason) => {
  expect(readBackupHeader(withHeader(json))).toEqual({ ok: false, reason } as never)
})

test('refuses a header length beyond 4 KiB, and a file shorter than its header', () => {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(1_000_000)
  writeFileSync(join(dir, 'big'), Buffer.concat([Buffer.from('ENCLBKP1'), length, Buffer.alloc(100)]))
  expect(readBackupHeader(join(dir, 'big'))).toEqual({ ok: false, reason: 'malformed_header' })
  length.writeUInt32BE(200)
  writeFileSync(join(dir, 'short'), Buffer.concat([Buffer.from('ENCLBKP1'), length, Buffer.from('{}')]))
  expect(readBackupHeader(join(dir, 'short'))).toEqual({ ok: false, reason: 'malformed_header' })
  writeFileSync(join(dir, 'tiny'), 'ENC')
  expect(readBackupHeader(join(dir, 'tiny'))).toEqual({ ok: false, reason: 'not_a_backup' })
})
