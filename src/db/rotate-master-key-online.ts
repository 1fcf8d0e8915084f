/**
 * Master key rotation while the server runs. With a generated key file the server can do it all:
 * it installs the new key file first (the old one kept as `.previous`, so a crash at any point is
 * finished by the next start), re-wraps every data key in one transaction, then moves the old key
 * aside. With ENCRYPTION_KEY or ENCRYPTION_KEY_FILE the new key must come from a file the operator
 * wrote, and the operator points the configuration at it before the next start. The new key file
 * may only be in the places crypto/new-key-file.ts accepts, as an admin's request names it.
 */
import { statSync } from 'node:fs'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMaterialError } from '../crypto/key-errors.ts'
import { readKeyFile } from '../crypto/key-files.ts'
import { parseMasterKey, type MasterKeyMaterial } from '../crypto/master-key.ts'
import { checkNewKeyFilePath } from '../crypto/new-key-file.ts'
import { installRotatedKeyFile, readPreviousMasterKey, retirePreviousKeyFile } from '../crypto/previous-master-key.ts'
import { generateKey } from '../crypto/random.ts'
import { readKeyCheckOn } from './key-check.ts'
import type { Store } from './open-store.ts'
import { materialMatches } from './unlock.ts'

const MAX_KEY_FILE_BYTES = 4096

export type OnlineRotationResult =
  | { ok: true; fingerprint: string; previousFingerprint: string; rewrappedKeys: number; keyFile: string; configurationChangeNeeded: boolean; retiredKeyFile: string | null }
  | { ok: false; reason: 'new_key_file_required' | 'new_key_file_not_allowed' | 'new_key_unusable' | 'same_key'; message: string }

/** Rotates the running store's master key; `newKeyFile` null asks for a generated key (generated source only). */
export async function rotateMasterKeyOnline(store: Store, source: MasterKeySource, dataDir: string, newKeyFile: string | null): Promise<OnlineRotationResult> {
  if (newKeyFile === null && source.kind !== 'generated') {
    return { ok: false, reason: 'new_key_file_required', message: 'The master key comes from ENCRYPTION_KEY or ENCRYPTION_KEY_FILE: write the new key to DATA_DIR/.encryption_key.new (mode 0600) and give its path as new_key_file.' }
  }
  if (newKeyFile !== null) {
    const place = checkNewKeyFilePath(newKeyFile, { dataDir, configuredKeyFile: source.kind === 'file' ? source.path : null })
    if (!place.ok) return { ok: false, reason: 'new_key_file_not_allowed', message: place.message }
  }
  let text: string
  let material: MasterKeyMaterial
  // note: a key file is a line of text; anything larger is not one, and is not read into memory.
  if (newKeyFile !== null && (statSync(newKeyFile, { throwIfNoEntry: false })?.size ?? 0) > MAX_KEY_FILE_BYTES) {
    return { ok: false, reason: 'new_key_unusable', message: `new_key_file ${newKeyFile} is larger than a key file can be.` }
  }
  try {
    text = newKeyFile === null ? Buffer.from(generateKey()).toString('hex') : readKeyFile(newKeyFile, 'new_key_file')
    material = parseMasterKey(text, 'new_key_file')
  } catch (error) {
    if (error instanceof KeyMaterialError) return { ok: false, reason: 'new_key_unusable', message: error.message }
    throw error
  }
  const stored = (await readKeyCheckOn(store.sql))!
  if (materialMatches(stored, material)) return { ok: false, reason: 'same_key', message: 'The database is already under this key.' }
  if (source.kind === 'generated') {
    // note: a `.previous` that is not the database's key is stale; moved aside, the copy made next is the right one.
    const previous = readPreviousMasterKey({ ENCRYPTION_KEY_PREVIOUS: null, ENCRYPTION_KEY_PREVIOUS_FILE: null }, source, process.cwd())
    if (previous !== null && !materialMatches(stored, previous.material)) retirePreviousKeyFile(source.path, 'stale')
    installRotatedKeyFile(source.path, text)
  }
  const rotation = await store.rotateMasterKey(material)
  const retiredKeyFile = source.kind === 'generated' ? retirePreviousKeyFile(source.path, rotation.previousFingerprint) : null
  return {
    ok: true, ...rotation, retiredKeyFile,
    keyFile: source.kind === 'generated' ? source.path : newKeyFile!,
    configurationChangeNeeded: source.kind !== 'generated' && !(source.kind === 'file' && source.path === newKeyFile),
  }
}
