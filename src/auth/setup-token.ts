/**
 * First-run safety: while no account exists and the server listens beyond loopback, the first
 * sign-up (which becomes admin) must present a one-time setup token. Without it, whoever reaches a
 * freshly started server first would own it. The token is written to DATA_DIR/.setup_token (0600)
 * and shown on an interactive console; it is removed once the first account exists. The same gate
 * guards setting the first password of a passwordless admin (account-claim.ts), for the same reason.
 */
import { existsSync, rmSync } from 'node:fs'
import { ipVersionOf } from '../config/ip-address.ts'
import { join } from 'node:path'
import { readKeyFile, writeNewKeyFile } from '../crypto/key-files.ts'
import { bytesEqual } from '../crypto/key-derivation.ts'

export const SETUP_TOKEN_FILE = '.setup_token'

/** Whether a listen address is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  if (bare === 'localhost') return true
  if (ipVersionOf(bare) === 4) return bare.startsWith('127.')
  return bare === '::1'
}

export type SetupGate = {
  /** The path of the token file, or null when no token is needed. */
  readonly tokenFile: string | null
  /** True when this sign-up may create the first account. */
  admits(given: string | undefined): boolean
  /** Forgets the token once the first account exists. */
  close(): void
}

/** A gate that admits every first sign-up, for servers on loopback and for tests. */
export const openGate: SetupGate = { tokenFile: null, admits: () => true, close: () => {} }

/**
 * Opens the gate: no token on loopback or once users exist (pass false while a passwordless admin
 * awaits its first password); else reuse or create the token file.
 */
export function openSetupGate(options: { dataDir: string; host: string; hasUsers: boolean }): SetupGate {
  const path = join(options.dataDir, SETUP_TOKEN_FILE)
  if (options.hasUsers || isLoopbackHost(options.host)) {
    if (options.hasUsers) rmSync(path, { force: true })
    return openGate
  }
  let token: string | null = existsSync(path) ? readKeyFile(path, 'The setup token file') : null
  if (token === null) {
    token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')
    writeNewKeyFile(path, token)
  }
  const expected = Buffer.from(token)
  return {
    tokenFile: path,
    admits: (given) => token !== null && given !== undefined && bytesEqual(Buffer.from(given), expected),
    close: () => {
      token = null
      rmSync(path, { force: true })
    },
  }
}

/** Reads the token for showing it on an interactive console; never for logs. */
export function readSetupToken(gate: SetupGate): string | null {
  return gate.tokenFile === null ? null : readKeyFile(gate.tokenFile, 'The setup token file')
}
