/**
 * The header both backup formats start with: 8 bytes of magic, a 4-byte big-endian length, then
 * that many bytes of JSON. Reading checks the magic and bounds the length before anything is
 * allocated; what the JSON must hold is the caller's to check.
 */
import { readSync, writeSync } from 'node:fs'

export type FramedHeader = { ok: true; value: unknown; bytes: Buffer } | { ok: false; reason: 'wrong_magic' | 'malformed' }

/** The header's bytes for `value` under `magic` (8 ASCII characters). */
export function encodeFramedHeader(magic: string, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(json.length)
  return Buffer.concat([Buffer.from(magic, 'latin1'), length, json])
}

/** Reads the header at the start of `fd`; `bytes` is the header exactly as stored (the payload follows it). */
export function readFramedHeader(fd: number, magic: string, maxJsonBytes: number): FramedHeader {
  const prefix = Buffer.alloc(12)
  if (readSync(fd, prefix, 0, 12, 0) !== 12 || prefix.subarray(0, 8).toString('latin1') !== magic) return { ok: false, reason: 'wrong_magic' }
  const length = prefix.readUInt32BE(8)
  if (length < 2 || length > maxJsonBytes) return { ok: false, reason: 'malformed' }
  const json = Buffer.alloc(length)
  if (readSync(fd, json, 0, length, 12) !== length) return { ok: false, reason: 'malformed' }
  try {
    const value: unknown = JSON.parse(json.toString('utf8'))
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'malformed' }
    return { ok: true, value, bytes: Buffer.concat([prefix, json]) }
  } catch {
    return { ok: false, reason: 'malformed' }
  }
}

/** Writes all of `bytes`, however many calls that takes. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
}
