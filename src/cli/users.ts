/**
 * `enclave users list` and `enclave users reset-password EMAIL`, for whoever holds the store and the
 * master key: the way back from a lost admin password. On SQLite the server is stopped (the
 * data-dir lock refuses a running one); on PostgreSQL (DATABASE_URL) instances may serve meanwhile,
 * and a reset reaches them (running-instances.ts). The new password is read from stdin (first line)
 * or, on a terminal, typed twice without echo; never from argv, where `ps` and shell history would
 * show it. A reset ends every session of that account and is written to the audit log.
 */
import { join } from 'node:path'
import { createAuditLog } from '../audit/audit-log.ts'
import { findPasswordProblem, hashPassword } from '../auth/passwords.ts'
import type { Config } from '../config/load-config.ts'
import { openCommandStore } from './command-store.ts'
import { connectToInstances, describeRelay, relayAccountChanges } from './running-instances.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }
/** Where the new password comes from; tests and pipes give stdin, a person a terminal. */
export type PasswordSource = { isTerminal: boolean; readLine: (prompt: string, hidden: boolean) => Promise<string | null> }

/** Prints every account: email, role, name, created and last seen (UTC). */
export async function listUsers(config: Config, io: Output): Promise<number> {
  const store = await openCommandStore(config)
  try {
    const users = await store.users.listUsers({ limit: await store.users.countUsers(), offset: 0 })
    const lastSeen = await store.sessions.lastSeenByUser()
    const day = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '))
    const rows = [['EMAIL', 'ROLE', 'NAME', 'CREATED', 'LAST SEEN'], ...users.map((user) => [user.email, user.role, user.name, day(user.createdAt), day(lastSeen.get(user.id))])]
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => [...row[column]!].length)))
    for (const row of rows) io.out(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}\n`)
    io.out(`${users.length} account${users.length === 1 ? '' : 's'}\n`)
    return 0
  } finally {
    await store.close()
  }
}

/** Sets a new password for the account with `email`; 1 with a message when there is none or the password is refused. */
export async function resetPassword(config: Config, email: string, source: PasswordSource, io: Output): Promise<number> {
  const store = await openCommandStore(config)
  const instances = await connectToInstances(config, store)
  try {
    const user = await store.users.findUserByEmail(email)
    if (user === null) {
      io.err(`enclave: there is no account with the email ${JSON.stringify(email)}; \`enclave users list\` shows them.\n`)
      return 1
    }
    const password = await readNewPassword(source, io)
    if (password === null) return 1
    const problem = findPasswordProblem(password, config.auth.passwordPattern)
    if (problem !== null) {
      io.err(`enclave: ${problem.message}\n`)
      return 1
    }
    const relay = relayAccountChanges(store, instances)
    await store.credentials.setPasswordHash(user.id, await hashPassword(password))
    const revoked = await store.sessions.revokeOtherSessions(user.id, null)
    const relayed = await relay.flush()
    const audit = createAuditLog({ path: join(config.dataDir, 'audit.log'), maxBytes: config.values.AUDIT_LOG_FILE_ROTATION_SIZE, now: Date.now })
    audit.record({ event: 'user_password_set_by_admin', targetId: user.id, method: 'cli', details: { sessions_revoked: revoked } })
    audit.close()
    io.out(`New password set for ${user.email} (${user.role}); ${revoked} session${revoked === 1 ? '' : 's'} signed out.${revoked > 0 ? describeRelay(config, relayed) : ''}\n`)
    return 0
  } finally {
    instances?.close()
    await store.close()
  }
}

async function readNewPassword(source: PasswordSource, io: Output): Promise<string | null> {
  const first = await source.readLine('New password: ', true)
  if (first === null || first === '') {
    io.err('enclave: no password given: type it at the prompt, or pipe it on stdin (never as an argument).\n')
    return null
  }
  if (!source.isTerminal) return first
  const again = await source.readLine('Repeat the new password: ', true)
  if (again !== first) {
    io.err('enclave: the two passwords differ; nothing was changed.\n')
    return null
  }
  return first
}

/** The process's stdin: the first line of a pipe, or a line typed without echo on a terminal. */
export function stdinPasswordSource(): PasswordSource {
  const isTerminal = process.stdin.isTTY === true
  let piped: Promise<string> | null = null
  return {
    isTerminal,
    readLine(prompt, hidden) {
      if (!isTerminal) {
        piped ??= Bun.stdin.text()
        return piped.then((text) => text.split(/\r?\n/)[0] ?? null)
      }
      return readHiddenLine(prompt, hidden)
    },
  }
}

/** Reads one line from the terminal in raw mode, echoing nothing; null on Ctrl-C or Ctrl-D. */
function readHiddenLine(prompt: string, hidden: boolean): Promise<string | null> {
  process.stderr.write(prompt)
  const stdin = process.stdin
  stdin.setRawMode(hidden)
  stdin.resume()
  return new Promise((resolve) => {
    let line = ''
    const finish = (value: string | null) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      resolve(value)
    }
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(line)
        if (char === '\u0003' || char === '\u0004') return finish(null)
        if (char === '\u007f' || char === '\b') line = [...line].slice(0, -1).join('')
        else line += char
      }
    }
    stdin.on('data', onData)
  })
}
