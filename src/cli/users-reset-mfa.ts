/**
 * `enclave users reset-mfa EMAIL [--data-dir D]`: removes every second factor of one account (its
 * authenticator app, recovery codes and passkeys), for the holder of the data directory and its key
 * when the account's owner lost them and no admin can sign in to do it. Audited like an admin's
 * reset (method 'cli'). One write transaction, so it runs beside a live server too.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createAuditLog } from '../audit/audit-log.ts'
import { loadConfig, readDotenvFile } from '../config/load-config.ts'
import { readPreviousMasterKey } from '../crypto/previous-master-key.ts'
import { DATABASE_FILE, openStore } from '../db/open-store.ts'
import { quote, settingFlags } from './parse-args.ts'
import { formatUsageError } from './usage.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

/** Runs the command on argv after `users reset-mfa`; returns the exit code (0 done, 1 refused, 2 usage). */
export async function resetSecondFactorsFromCli(argv: readonly string[], io: Output, env: Record<string, string | undefined> = process.env): Promise<number> {
  const args = [...argv]
  const flags: Record<string, string> = {}
  let email: string | null = null
  while (args.length > 0) {
    const arg = args.shift()!
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const variable = settingFlags[name]
    if (arg.startsWith('--') && variable !== undefined) {
      const value = inline ?? args.shift()
      if (value === undefined || value === '') return usage(io, `${name} needs a value`)
      flags[variable] = value
    } else if (!arg.startsWith('--') && email === null) {
      email = arg
    } else {
      return usage(io, `unexpected argument ${quote(arg)}`)
    }
  }
  if (email === null) return usage(io, 'users reset-mfa needs EMAIL')
  // note: it opens SQLite in DATA_DIR only, so DATABASE_URL is refused rather than ignored.
  const config = loadConfig({ flags, env, dotenv: readDotenvFile(process.cwd()), cwd: process.cwd(), allowDatabaseUrl: false })
  if (!existsSync(join(config.dataDir, DATABASE_FILE))) {
    io.err(`enclave: there is no Enclave database at ${join(config.dataDir, DATABASE_FILE)}: check DATA_DIR (or --data-dir).\n`)
    return 1
  }
  const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now, previousMasterKey: readPreviousMasterKey(config.values, config.masterKey, process.cwd()) })
  const audit = createAuditLog({ path: join(config.dataDir, 'audit.log'), maxBytes: config.values.AUDIT_LOG_FILE_ROTATION_SIZE, now: Date.now })
  try {
    const user = await store.users.findUserByEmail(email.trim().toLowerCase())
    if (user === null) {
      io.err(`enclave: no account has the email ${quote(email)}.\n`)
      return 1
    }
    const removed = await store.secondFactors.resetSecondFactors(user.id)
    // note: the account's sessions end with its factors, as when an admin resets them in the page.
    const revoked = await store.sessions.revokeOtherSessions(user.id, null)
    audit.record({ event: 'second_factors_reset', targetId: user.id, method: 'cli', details: { totp: removed.totp, passkeys: removed.passkeys, sessions: revoked } })
    io.out(removed.totp || removed.passkeys > 0
      ? `Second factors of ${user.email} removed: ${removed.totp ? 'the authenticator app and its recovery codes' : 'no authenticator app'}, ${removed.passkeys} passkey${removed.passkeys === 1 ? '' : 's'}. They sign in with their password now${config.auth.mfaRequired === 'none' ? '' : ' and set up a new factor first if MFA_REQUIRED covers them'}.\n`
      : `${user.email} had no second factor; nothing changed.\n`)
    return 0
  } finally {
    audit.close()
    store.close()
  }
}

function usage(io: Output, problem: string): number {
  io.err(formatUsageError(problem))
  return 2
}
