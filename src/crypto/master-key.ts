/**
 * The master key wraps every data key. It comes from ENCRYPTION_KEY, from ENCRYPTION_KEY_FILE, or
 * from DATA_DIR/.encryption_key, generated on first start. It is either 32 raw bytes written as 64
 * hex digits, or a passphrase of 32 characters or more that scrypt stretches with the database's
 * salt. This module reads and checks the material; it never logs it or puts it in an error.
 */
import { existsSync } from 'node:fs'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMaterialError } from './key-errors.ts'
import { readKeyFile } from './key-files.ts'

export const MIN_PASSPHRASE_LENGTH = 32

/** Key material before the database is consulted: a passphrase still needs the stored salt. */
export type MasterKeyMaterial =
  | { kind: 'raw'; key: Uint8Array }
  | { kind: 'passphrase'; passphrase: string }

/** Where the material came from, as shown to operators. */
export function describeMasterKeySource(source: MasterKeySource): string {
  switch (source.kind) {
    case 'env': return 'ENCRYPTION_KEY'
    case 'file': return `ENCRYPTION_KEY_FILE (${source.path})`
    case 'generated': return `generated key file ${source.path}`
  }
}

/**
 * Reads the master key material from its source without writing anything. Returns null only for a
 * generated key whose file does not exist yet. Throws KeyMaterialError when the material is unusable.
 */
export function readMasterKeyMaterial(source: MasterKeySource): MasterKeyMaterial | null {
  switch (source.kind) {
    case 'env':
      return parseMasterKey(source.value, 'ENCRYPTION_KEY')
    case 'file':
      return parseMasterKey(readKeyFile(source.path, 'ENCRYPTION_KEY_FILE'), `ENCRYPTION_KEY_FILE ${source.path}`)
    case 'generated':
      if (!existsSync(source.path)) return null
      return parseMasterKey(readKeyFile(source.path, 'The key file'), `The key file ${source.path}`)
  }
}

/** Parses 64 hex digits (optionally after 0x) as a raw key, or a long enough text as a passphrase. */
export function parseMasterKey(text: string, origin: string): MasterKeyMaterial {
  const value = text.trim().replace(/^0x(?=[0-9a-fA-F]{64}$)/, '')
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'raw', key: new Uint8Array(Buffer.from(value, 'hex')) }
  if (/^[0-9a-fA-F]+$/.test(value)) {
    throw new KeyMaterialError(`${origin} looks like a hex key but has ${value.length} hex digits; a hex key has exactly 64 (32 bytes). Generate one with: openssl rand -hex 32`)
  }
  if ([...value].length < MIN_PASSPHRASE_LENGTH) {
    throw new KeyMaterialError(`${origin} is too short: use 64 hex digits (openssl rand -hex 32) or a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`)
  }
  return { kind: 'passphrase', passphrase: value }
}
