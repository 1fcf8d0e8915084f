/**
 * `enclave users reset-mfa EMAIL [--data-dir D]`: removes every second factor of one account (its
 * authenticator app, recovery codes and passkeys), for the holder of the data directory and its key
 * when the account's owner lost them and no admin can sign in to do it. Audited like an admin's
 * reset (method 'cli'). One write transaction, so it runs beside a live server too; with
 * DATABASE_URL on PostgreSQL, where running instances hear of it as running-instances.ts says.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createAuditLog } from '../audit/audit-log.ts'
import { loadConfig, readDotenvFile } from '../config/load-config.ts'
import { DATABASE_FILE } from '../db/open-store.ts'
import { openCommandStore } from './command-store.ts'
import { quote, settingFlags } from './parse-args.ts'
import { describePostgresFailure, showUrl } from './postgres-failure.ts'
import { connectToInstances, describeRelay, relayAccountChanges } from './running-instances.ts'
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
  const config = loadConfig({ flags, env, dotenv: readDotenvFile(process.cwd()), cwd: process.cwd(), allowDatabaseUrl: true })
  if (config.postgres === null && !existsSync(join(config.dataDir, DATABASE_FILE))) {
    io.err(`enclave: there is no Enclave database at ${join(config.dataDir, DATABASE_FILE)}: check DATA_DIR (or --data-dir).\n`)
    return 1
  }
  try {
    return await resetOn(config, email, io)
  } catch (error) {
    const problem = ['KeyMaterialError', 'KeyMismatchError', 'CommandRefusedError', 'SchemaTooNewError', 'FieldOpenError'].includes((error as Error)?.name) ? (error as Error).message
      : config.postgres === null ? null : describePostgresFailure(error, showUrl(config.postgres.url))
    if (problem === null) throw error
    io.err(`enclave: ${problem}\n`)
    return 1
  }
}

async function resetOn(config: ReturnType<typeof loadConfig>, email: string, io: Output): Promise<number> {
  const store = await openCommandStore(config)
  const instances = await connectToInstances(config, store)
  const audit = createAuditLog({ path: join(config.dataDir, 'audit.log'), maxBytes: config.values.AUDIT_LOG_FILE_ROTATION_SIZE, now: Date.now })
  try {
    const user = await store.users.findUserByEmail(email.trim().toLowerCase())
    if (user === null) {
      io.err(`enclave: no account has the email ${quote(email)}.\n`)
      return 1
    }
    const relay = relayAccountChanges(store, instances)
    const removed = await store.secondFactors.resetSecondFactors(user.id)
    // note: the account's sessions end with its factors, as when an admin resets them in the page.
    const revoked = await store.sessions.revokeOtherSessions(user.id, null)
    const relayed = await relay.flush()
    audit.record({ event: 'second_factors_reset', targetId: user.id, method: 'cli', details: { totp: removed.totp, passkeys: removed.passkeys, sessions: revoked } })
    io.out(removed.totp || removed.passkeys > 0
      ? `Second factors of ${user.email} removed: ${removed.totp ? 'the authenticator app and its recovery codes' : 'no authenticator app'}, ${removed.passkeys} passkey${removed.passkeys === 1 ? '' : 's'}. They sign in with their password now${config.auth.mfaRequired === 'none' ? '' : ' and set up a new factor first if MFA_REQUIRED covers them'}.${revoked > 0 ? describeRelay(config, relayed) : ''}\n`
      : `${user.email} had no second factor; nothing changed.\n`)
    return 0
  } finally {
    audit.close()
    instances?.close()
    await store.close()
  }
}

function usage(io: Output, problem: string): number {
  io.err(formatUsageError(problem))
  return 2
}
