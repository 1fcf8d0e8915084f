/**
 * Key files: the master key and the session secret, when Enclave generates them, live in DATA_DIR
 * as small text files with mode 0600. A key file that group or others may read is refused, because
 * whoever reads it reads every encrypted field.
 */
import { KeyMaterialError } from './key-errors.ts'
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'


/** Reads a key file's trimmed text after checking that only its owner may access it. */
export function readKeyFile(path: string, what: string): string {
  let mode: number
  try {
    mode = statSync(path).mode
  } catch {
    throw new KeyMaterialError(`${what} ${path} cannot be read: check that the file exists and that Enclave's user may read it.`)
  }
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(4, '0')
    throw new KeyMaterialError(`${what} ${path} has mode ${shown}, so others on this machine may read it. Run: chmod 600 ${path}`)
  }
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    throw new KeyMaterialError(`${what} ${path} cannot be read: check that Enclave's user may read it.`)
  }
}

/** Creates a key file with mode 0600 and flushes it to disk; refuses to overwrite an existing one. */
export function writeNewKeyFile(path: string, contents: string): void {
  const fd = openSync(path, 'wx', 0o600)
  try {
    writeSync(fd, `${contents}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
