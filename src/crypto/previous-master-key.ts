/**
 * The previous master key during a rotation: ENCRYPTION_KEY_PREVIOUS, ENCRYPTION_KEY_PREVIOUS_FILE,
 * or, with a generated key, DATA_DIR/.encryption_key.previous (left by `enclave keys rotate`). It
 * is only ever used to finish a rotation that was not committed; nothing is written under it.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMaterialError } from './key-errors.ts'
import { readKeyFile, writeNewKeyFile } from './key-files.ts'
import { parseMasterKey, type MasterKeyMaterial } from './master-key.ts'

/** Key material of the previous master key and where it came from, for messages. */
export type PreviousMasterKey = { material: MasterKeyMaterial; origin: string }

export const PREVIOUS_KEY_SUFFIX = '.previous'

type PreviousKeySettings = { ENCRYPTION_KEY_PREVIOUS: string | null; ENCRYPTION_KEY_PREVIOUS_FILE: string | null }

/** Reads the previous master key, or null when none is configured. Throws KeyMaterialError when unusable. */
export function readPreviousMasterKey(values: PreviousKeySettings, current: MasterKeySource, cwd: string): PreviousMasterKey | null {
  if (values.ENCRYPTION_KEY_PREVIOUS !== null && values.ENCRYPTION_KEY_PREVIOUS_FILE !== null) {
    throw new KeyMaterialError('ENCRYPTION_KEY_PREVIOUS and ENCRYPTION_KEY_PREVIOUS_FILE are both set: choose one.')
  }
  if (values.ENCRYPTION_KEY_PREVIOUS !== null) {
    return { material: parseMasterKey(values.ENCRYPTION_KEY_PREVIOUS, 'ENCRYPTION_KEY_PREVIOUS'), origin: 'ENCRYPTION_KEY_PREVIOUS' }
  }
  if (values.ENCRYPTION_KEY_PREVIOUS_FILE !== null) {
    const path = resolve(cwd, values.ENCRYPTION_KEY_PREVIOUS_FILE)
    return { material: parseMasterKey(readKeyFile(path, 'ENCRYPTION_KEY_PREVIOUS_FILE'), `ENCRYPTION_KEY_PREVIOUS_FILE ${path}`), origin: `ENCRYPTION_KEY_PREVIOUS_FILE (${path})` }
  }
  const leftByRotation = current.kind === 'generated' ? `${current.path}${PREVIOUS_KEY_SUFFIX}` : null
  if (leftByRotation !== null && existsSync(leftByRotation)) {
    return { material: parseMasterKey(readKeyFile(leftByRotation, 'The previous key file'), `The previous key file ${leftByRotation}`), origin: `the previous key file ${leftByRotation}` }
  }
  return null
}

/**
 * Installs a new generated key file for a rotation, in an order that is safe to interrupt: the
 * current key is first copied to `.previous`, then the new one replaces the key file by rename.
 * At every moment the key file exists, and whichever key the database is under is on disk.
 */
export function installRotatedKeyFile(keyFilePath: string, newKeyText: string): void {
  const previous = `${keyFilePath}${PREVIOUS_KEY_SUFFIX}`
  if (!existsSync(previous)) {
    rmSync(`${previous}.tmp`, { force: true }) // note: left by a crash between these two lines; its content is the current key again
    writeNewKeyFile(`${previous}.tmp`, readKeyFile(keyFilePath, 'The key file'))
    renameSync(`${previous}.tmp`, previous)
  }
  const next = `${keyFilePath}.next`
  rmSync(next, { force: true })
  writeNewKeyFile(next, newKeyText)
  renameSync(next, keyFilePath)
  syncDirectory(dirname(keyFilePath))
}

/**
 * Moves `.previous` aside once the database no longer needs it, to `.retired-<fingerprint>`: older
 * backups were written under it, so it is kept for restoring them until the operator deletes it.
 * Returns the new path, or null when there was no previous key file.
 */
export function retirePreviousKeyFile(keyFilePath: string, previousFingerprint: string): string | null {
  const previous = `${keyFilePath}${PREVIOUS_KEY_SUFFIX}`
  if (!existsSync(previous)) return null
  // note: never over an older retired key, which older backups may still need.
  const base = `${keyFilePath}.retired-${previousFingerprint}`
  const retired = existsSync(base) ? `${base}-${Date.now()}` : base
  renameSync(previous, retired)
  return retired
}

function syncDirectory(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
