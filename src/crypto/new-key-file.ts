/**
 * Where an online master key rotation may read its new key from. The path comes in an admin's
 * request, so it is an oracle and a lever if it may name any file: "is there a 0600 file at X?"
 * (the answers differed), or a rotation onto a file the server can read but nobody keeps, such as
 * /proc/self/environ. So only two places are accepted, decided from the text alone before the
 * file system is asked anything, with one refusal for every other path, present or not:
 *
 * - DATA_DIR/.encryption_key.new, or DATA_DIR/.encryption_key.new-LABEL (LABEL: letters, digits,
 *   `_`, `-`), written by the operator and not a symbolic link;
 * - the ENCRYPTION_KEY_FILE given at start (the operator replaced its content in place).
 */
import { lstatSync } from 'node:fs'
import { basename, dirname, isAbsolute, normalize, resolve } from 'node:path'

const NEW_KEY_FILE_NAME = /^\.encryption_key\.new(-[A-Za-z0-9_-]{1,64})?$/

export type NewKeyFileCheck = { ok: true; path: string } | { ok: false; message: string }

/** The one answer for any path outside the accepted places, so it tells nothing about that path. */
export const NEW_KEY_FILE_PLACES = 'new_key_file must be DATA_DIR/.encryption_key.new (or .encryption_key.new-LABEL) or the ENCRYPTION_KEY_FILE the server started with.'

/** Accepts `path` as a new master key file, or refuses it without touching it unless it is in an accepted place. */
export function checkNewKeyFilePath(path: string, places: { dataDir: string; configuredKeyFile: string | null }): NewKeyFileCheck {
  if (!isAbsolute(path) || normalize(path) !== path || path.endsWith('/') || path.includes('\0')) return { ok: false, message: NEW_KEY_FILE_PLACES }
  if (places.configuredKeyFile !== null && path === resolve(places.configuredKeyFile)) return { ok: true, path }
  if (dirname(path) !== resolve(places.dataDir) || !NEW_KEY_FILE_NAME.test(basename(path))) return { ok: false, message: NEW_KEY_FILE_PLACES }
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true) return { ok: false, message: `new_key_file ${path} is a symbolic link: write the key into the file itself.` }
  return { ok: true, path }
}
