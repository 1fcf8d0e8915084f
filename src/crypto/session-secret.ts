/**
 * The session-signing secret: WEBUI_SECRET_KEY (or WEBUI_JWT_SECRET_KEY) when set, else 32 random
 * bytes generated once into DATA_DIR/.webui_secret_key (0600) and reused on every later start.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { readKeyFile, writeNewKeyFile } from './key-files.ts'
import { generateBytes } from './random.ts'

export const SESSION_SECRET_FILE = '.webui_secret_key'

/** Reads the persisted secret, or null when none was generated yet. Refuses a file others can read. */
export function readSessionSecretFile(dataDir: string): string | null {
  const path = join(dataDir, SESSION_SECRET_FILE)
  return existsSync(path) ? readKeyFile(path, 'The session secret file') : null
}

/** Generates the secret and persists it with mode 0600. */
export function createSessionSecretFile(dataDir: string): string {
  const secret = Buffer.from(generateBytes(32)).toString('base64url')
  writeNewKeyFile(join(dataDir, SESSION_SECRET_FILE), secret)
  return secret
}
