import { afterEach, beforeEach, describe, expect, spyOn, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AuditEntry, createAuditLog, createMemoryAuditLog } from './audit-log.ts'

let dir = ''
let path = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enclave-audit-'))
  path = join(dir, 'audit.log')
})
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

const start = Date.UTC(2025, 0, 2, 3, 4, 5, 678)

/** A clock that moves one second per reading. */
function steppingClock(): () => number {
  let t = start
  return () => (t += 1000) - 1000
}

function failOnError(error: unknown): never {
  throw new Error(`unexpected audit error: ${String(error)}`)
}

function modeOf(file: string): number {
  return statSync(file).mode & 0o777
}

function linesOf(file: string): Record<string, unknown>[] {
  const text = readFileSync(file, 'utf8')
  expect(text === '' || text.endsWith('\n')).toBe(true)
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** Every line in audit.log.N … audit.log.1, audit.log, oldest first. */
function allLines(keepFiles: number): Record<string, unknown>[] {
  const files = [...Array.from({ length: keepFiles }, (_, i) => `${path}.${keepFiles - i}`), path]
  return files.filter((file) => existsSync(file)).flatMap(linesOf)
}

describe('createAuditLog', () => {
  test('writes one JSON line per entry with snake_case keys and no absent fields', () => {
    const audit = createAuditLog({ path, maxBytes: 1024 * 1024, now: steppingClock(), onError: failOnError })
    audit.record({
      event: 'role_changed', actorId: 'u_admin', targetId: 'u_ada', ip: '203.0.113.7', method: 'password',
      details: { from: 'user', to: 'admin', count: 2, isFirst: false, note: null },
    })
    audit.record({ event: 'signin_failed', actorId: null, ip: '::1', reason: 'wrong_password' })
    audit.close()

    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3)
    expect(linesOf(path)).toEqual([
      {
        at: '2025-01-02T03:04:05.678Z', event: 'role_changed', actor_id: 'u_admin', target_id: 'u_ada', ip: '203.0.113.7',
        method: 'password', details: { from: 'user', to: 'admin', count: 2, isFirst: false, note: null },
      },
      { at: '2025-01-02T03:04:06.678Z', event: 'signin_failed', ip: '::1', reason: 'wrong_password' },
    ])
    expect(readFileSync(path, 'utf8')).toStartWith('{"at":"2025-01-02T03:04:05.678Z","event":"role_changed","actor_id":')
  })

  test('creates the file with mode 0600', () => {
    createAuditLog({ path, maxBytes: 1024, now: steppingClock(), onError: failOnError }).record({ event: 'signup', actorId: 'u_1' })
    expect(modeOf(path)).toBe(0o600)
  })

  test('tightens an existing 0644 file to 0600 and appends to it', () => {
    writeFileSync(path, '{"at":"earlier","event":"signup"}\n')
    chmodSync(path, 0o644)
    createAuditLog({ path, maxBytes: 1024, now: steppingClock(), onError: failOnError }).record({ event: 'signout', actorId: 'u_1' })
    expect(modeOf(path)).toBe(0o600)
    expect(linesOf(path).map((line) => line.event)).toEqual(['signup', 'signout'])
  })

  test('rotates before a line would pass maxBytes, keeps keepFiles files and drops the oldest', () => {
    const entry = (n: number): AuditEntry => ({ event: 'rate_limited', ip: '198.51.100.1', details: { n: 1000 + n } })
    const lineBytes = 98
    expect(`${JSON.stringify({ at: new Date(start).toISOString(), event: 'rate_limited', ip: '198.51.100.1', details: { n: 1000 } })}\n`).toHaveLength(lineBytes)
    const audit = createAuditLog({ path, maxBytes: 3 * lineBytes + 10, keepFiles: 2, now: () => start, onError: failOnError })
    for (let n = 0; n < 20; n++) audit.record(entry(n))

    // 20 lines at 3 per file: audit.log.1 … .6 existed, only .1 and .2 are kept beside audit.log.
    expect(existsSync(`${path}.3`)).toBe(false)
    expect(linesOf(`${path}.2`)).toHaveLength(3)
    expect(linesOf(`${path}.1`)).toHaveLength(3)
    expect(linesOf(path)).toHaveLength(2)
    expect(allLines(2).map((line) => (line.details as { n: number }).n)).toEqual([1012, 1013, 1014, 1015, 1016, 1017, 1018, 1019])
    for (const file of [path, `${path}.1`, `${path}.2`]) {
      expect(statSync(file).size).toBeLessThanOrEqual(3 * lineBytes + 10)
      expect(modeOf(file)).toBe(0o600)
    }
  })

  test('rotation tightens a wide file before it becomes audit.log.1', () => {
    writeFileSync(path, `${'{"event":"signup"}'.padEnd(99)}\n`)
    chmodSync(path, 0o644)
    createAuditLog({ path, maxBytes: 120, now: steppingClock(), onError: failOnError }).record({ event: 'signout', actorId: 'u_1' })
    expect(modeOf(`${path}.1`)).toBe(0o600)
    expect(modeOf(path)).toBe(0o600)
    expect(linesOf(path).map((line) => line.event)).toEqual(['signout'])
  })

  test('writes a line longer than maxBytes whole into a file of its own', () => {
    const audit = createAuditLog({ path, maxBytes: 64, now: steppingClock(), onError: failOnError })
    audit.record({ event: 'user_created', actorId: 'u_admin', targetId: 'u_ada', details: { chats: 0 } })
    audit.record({ event: 'user_deleted', actorId: 'u_admin', targetId: 'u_ada', details: { chats: 0 } })
    expect(linesOf(`${path}.1`).map((line) => line.event)).toEqual(['user_created'])
    expect(linesOf(path).map((line) => line.event)).toEqual(['user_deleted'])
  })

  test('1,000 records in a loop are all there, in order, each line whole', () => {
    const keepFiles = 40
    const audit = createAuditLog({ path, maxBytes: 4096, keepFiles, now: steppingClock(), onError: failOnError })
    for (let n = 0; n < 1000; n++) {
      audit.record({ event: 'api_key_denied', actorId: `u_${n % 7}`, reason: 'expired', method: 'api_key', details: { n } })
    }
    const lines = allLines(keepFiles)
    expect(existsSync(`${path}.${keepFiles}`)).toBe(false)
    expect(lines).toHaveLength(1000)
    expect(lines.map((line) => (line.details as { n: number }).n)).toEqual(Array.from({ length: 1000 }, (_, n) => n))
    expect(new Set(lines.map((line) => line.at)).size).toBe(1000)
  })

  test('with the default keepFiles, keeps five rotated files', () => {
    const audit = createAuditLog({ path, maxBytes: 1024, now: steppingClock(), onError: failOnError })
    for (let n = 0; n < 200; n++) audit.record({ event: 'signin_succeeded', actorId: 'u_1', details: { n } })
    expect(existsSync(`${path}.5`)).toBe(true)
    expect(existsSync(`${path}.6`)).toBe(false)
    const kept = allLines(5).map((line) => (line.details as { n: number }).n)
    expect(kept.at(-1)).toBe(199)
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 200 - kept.length + i))
  })
})

describe('redaction', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzEifQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
  const long = 'x'.repeat(201)

  test.each<[string, AuditEntry, string]>([
    ['an email in details', { event: 'signup', details: { kind: 'local', email: 'ada@example.com' } }, 'ada@example.com'],
    ['an API key in details', { event: 'api_key_created', details: { kind: 'local', key: 'sk-0123456789abcdef' } }, 'sk-0123456789abcdef'],
    ['a bearer API key in details', { event: 'api_key_denied', details: { kind: 'local', header: 'Bearer sk-0123456789abcdef' } }, 'sk-0123456789abcdef'],
    ['a JWT in details', { event: 'signout', details: { kind: 'local', token: jwt } }, jwt],
    ['a string past 200 characters in details', { event: 'user_created', details: { kind: 'local', bio: long } }, long],
    ['an email as a details key', { event: 'user_created', details: { kind: 'local', 'ada@example.com': true } }, 'ada@example.com'],
    ['an object smuggled into details', { event: 'user_created', details: { kind: 'local', user: { email: 'ada@example.com' } as never } }, 'ada@example.com'],
    ['an email as the reason', { event: 'signin_failed', reason: 'ada@example.com' }, 'ada@example.com'],
    ['a sentence as the reason', { event: 'signin_failed', reason: 'Wrong password for Ada' }, 'Wrong password for Ada'],
    ['a code past 64 characters as the reason', { event: 'signin_failed', reason: 'a'.repeat(65) }, 'a'.repeat(65)],
    ['a camelCase method', { event: 'signin_failed', method: 'trustedHeader' }, 'trustedHeader'],
    ['a JWT as the method', { event: 'signin_failed', method: jwt }, jwt],
    ['an email as the actor id', { event: 'signin_failed', actorId: 'ada@example.com' }, 'ada@example.com'],
    ['an email as the target id', { event: 'role_changed', targetId: 'ada@example.com' }, 'ada@example.com'],
  ])('drops %s and marks the line redacted', (_, entry, secret) => {
    const audit = createAuditLog({ path, maxBytes: 1024 * 1024, now: steppingClock(), onError: failOnError })
    audit.record(entry)
    const text = readFileSync(path, 'utf8')
    expect(text).not.toContain(secret)
    const [line] = linesOf(path)
    expect(line).toMatchObject({ event: entry.event, redacted: true })
    if (entry.details !== undefined) expect(line?.details).toEqual({ kind: 'local' })
  })

  test.each<[string, AuditEntry]>([
    ['plain codes and ids', { event: 'signin_failed', actorId: 'u_1', ip: '2001:db8::1', reason: 'unknown_account', method: 'ldap' }],
    ['a 200-character detail', { event: 'user_created', details: { name: 'x'.repeat(200) } }],
    ['words that merely contain sk-', { event: 'rate_limited', details: { route: 'task-list', risk: 'disk-full' } }],
    ['a 64-character code', { event: 'signin_failed', reason: 'a'.repeat(64) }],
  ])('keeps %s unmarked', (_, entry) => {
    createAuditLog({ path, maxBytes: 1024 * 1024, now: steppingClock(), onError: failOnError }).record(entry)
    expect(linesOf(path)[0]).not.toHaveProperty('redacted')
  })
})

describe('failures', () => {
  test('record() after the directory is removed does not throw and calls onError', () => {
    const sub = join(dir, 'data')
    mkdirSync(sub)
    const errors: unknown[] = []
    const audit = createAuditLog({ path: join(sub, 'audit.log'), maxBytes: 1024, now: steppingClock(), onError: (error) => errors.push(error) })
    audit.record({ event: 'signup', actorId: 'u_1' })
    rmSync(sub, { recursive: true })
    expect(() => audit.record({ event: 'signout', actorId: 'u_1' })).not.toThrow()
    expect(errors).toHaveLength(1)
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT')
  })

  test('record() survives an onError that throws', () => {
    const audit = createAuditLog({ path: join(dir, 'missing', 'audit.log'), maxBytes: 1024, now: steppingClock(), onError: () => { throw new Error('boom') } })
    expect(() => audit.record({ event: 'signup' })).not.toThrow()
  })

  test('by default, reports a lost entry with one stderr line that leaves out the entry', () => {
    const written: string[] = []
    const spy = spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0)
    try {
      createAuditLog({ path: join(dir, 'missing', 'audit.log'), maxBytes: 1024, now: steppingClock() })
        .record({ event: 'role_changed', actorId: 'u_secret_actor', details: { to: 'admin' } })
    } finally {
      spy.mockRestore()
    }
    expect(written).toHaveLength(1)
    expect(written[0]).toContain('ERROR audit log entry lost')
    expect(written[0]).toEndWith('\n')
    expect(written[0]?.split('\n')).toHaveLength(2)
    expect(written[0]).not.toContain('u_secret_actor')
    expect(written[0]).not.toContain('role_changed')
  })

  test('record() after close() writes nothing and reports the loss', () => {
    const errors: unknown[] = []
    const audit = createAuditLog({ path, maxBytes: 1024, now: steppingClock(), onError: (error) => errors.push(error) })
    audit.close()
    audit.record({ event: 'signout' })
    expect(existsSync(path)).toBe(false)
    expect(errors).toHaveLength(1)
  })

  test.each([['maxBytes 0', { maxBytes: 0 }], ['keepFiles 0', { maxBytes: 1024, keepFiles: 0 }], ['fractional maxBytes', { maxBytes: 1.5 }]])(
    'refuses %s',
    (_, limits) => {
      expect(() => createAuditLog({ path, now: steppingClock(), ...limits })).toThrow(RangeError)
    },
  )
})

describe('createMemoryAuditLog', () => {
  test('keeps entries as given, with the time', () => {
    const audit = createMemoryAuditLog(() => start)
    audit.record({ event: 'api_key_created', actorId: 'u_1', details: { keyId: 'k_1' } })
    audit.close()
    expect(audit.entries).toEqual([{ event: 'api_key_created', actorId: 'u_1', details: { keyId: 'k_1' }, at: '2025-01-02T03:04:05.678Z' }])
  })
})
