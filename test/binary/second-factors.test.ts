/**
 * Second factors against the compiled binary: enrolment, the two-step sign-in through the API,
 * what an old client (Open WebUI's page, Conduit) gets from the first step, and the secrets kept
 * out of the database file, its WAL, the server log, the audit log and a backup.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeBase32IgnorePadding } from '@oslojs/encoding'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { awayFromStepEnd, codeAt } from '../helpers/second-factor.ts'

const tempDir = tempDirsRemovedAfterAll()
const PASSWORD = `pw-${crypto.randomUUID()}`

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('two-step sign-in on the binary', () => {
  test('enrol, then the password alone yields no token or cookie; the code does, once; no secret reaches the disk in clear', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd })
    try {
      const signup = await post(`${server.url}/api/v1/auths/signup`, { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
      const { token } = (await signup.json()) as { token: string }
      const auth = { authorization: `Bearer ${token}` }
      const setup = (await (await post(`${server.url}/api/v1/auths/mfa/totp/setup`, {}, auth)).json()) as { secret: string; otpauth_uri: string }
      const secret = decodeBase32IgnorePadding(setup.secret)
      // note: enrolled with the previous step's code, so the current step's is still unused for the sign-in below.
      await awayFromStepEnd()
      const enable = await post(`${server.url}/api/v1/auths/mfa/totp/enable`, { code: codeAt(secret, Date.now(), 1) }, auth)
      expect(enable.status).toBe(200)
      const { recovery_codes: recoveryCodes } = (await enable.json()) as { recovery_codes: string[] }

      // Open WebUI's page and Conduit send exactly this; they must get a readable refusal and nothing to sign in with.
      const first = await post(`${server.url}/api/v1/auths/signin`, { email: 'ada@example.com', password: PASSWORD })
      expect(first.status).toBe(401)
      expect(first.headers.get('set-cookie')).toBeNull()
      const refusal = (await first.json()) as Record<string, unknown>
      expect(refusal).toMatchObject({ code: 'second_factor_required', methods: ['totp', 'recovery_code'] })
      expect(typeof refusal.detail).toBe('string')
      expect(refusal).not.toHaveProperty('token')
      expect(refusal).not.toHaveProperty('id')
      const challenge = refusal.mfa_token as string
      expect((await fetch(`${server.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${challenge}` } })).status).toBe(401)

      const code = codeAt(secret, Date.now())
      const second = await post(`${server.url}/api/v1/auths/signin/mfa`, { mfa_token: challenge, code })
      expect(second.status).toBe(200)
      expect(second.headers.get('set-cookie')).toMatch(/^token=.+HttpOnly/i)
      const session = (await second.json()) as { token: string; email: string }
      expect(session.email).toBe('ada@example.com')
      expect((await fetch(`${server.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${session.token}` } })).status).toBe(200)
      expect((await post(`${server.url}/api/v1/auths/signin/mfa`, { mfa_token: challenge, code })).status).toBe(401)
      const again = (await (await post(`${server.url}/api/v1/auths/signin`, { email: 'ada@example.com', password: PASSWORD })).json()) as { mfa_token: string }
      expect((await post(`${server.url}/api/v1/auths/signin/mfa`, { mfa_token: again.mfa_token, code })).status).toBe(400)
      expect((await post(`${server.url}/api/v1/auths/signin/mfa`, { mfa_token: again.mfa_token, code: recoveryCodes[3] })).status).toBe(200)

      expect((await runBinary(['backup', 'mfa.backup'], { cwd })).code).toBe(0)
      const needles: [string, Buffer][] = [
        ['secret bytes', Buffer.from(secret)], ['secret base32', Buffer.from(setup.secret)], ['secret base32 lower', Buffer.from(setup.secret.toLowerCase())],
        ...recoveryCodes.flatMap((recovery): [string, Buffer][] => [[`recovery ${recovery}`, Buffer.from(recovery)], [`recovery compact ${recovery}`, Buffer.from(recovery.replaceAll('-', ''))]]),
      ]
      const files = ['data/enclave.db', 'data/enclave.db-wal', 'data/audit.log', 'mfa.backup'].map((name) => join(cwd, name)).filter(existsSync)
      expect(files.length).toBeGreaterThanOrEqual(3)
      const found: string[] = []
      for (const file of files) {
        const bytes = readFileSync(file)
        for (const [name, needle] of needles) if (bytes.includes(needle)) found.push(`${name} in ${file}`)
      }
      const log = Buffer.from(server.output())
      for (const [name, needle] of needles) if (log.includes(needle)) found.push(`${name} in the server log`)
      expect(found).toEqual([])
      const audit = readFileSync(join(cwd, 'data/audit.log'), 'utf8')
      for (const event of ['second_factor_challenge_issued', 'second_factor_enrolled', 'second_factor_used', '"method":"recovery_code"', 'second_factor_failed']) expect(audit).toContain(event)
    } finally {
      await server.stop()
    }
  })

  test('MFA_REQUIRED=all: a new account reaches only enrolment until it has a factor', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd, env: { MFA_REQUIRED: 'all' } })
    try {
      const signup = await post(`${server.url}/api/v1/auths/signup`, { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
      const session = (await signup.json()) as { token: string; mfa_enrolment_required?: boolean }
      expect(session.mfa_enrolment_required).toBe(true)
      const auth = { authorization: `Bearer ${session.token}` }
      const held = await fetch(`${server.url}/api/v1/chats/`, { headers: auth })
      expect(held.status).toBe(403)
      expect(((await held.json()) as { code: string }).code).toBe('mfa_enrolment_required')
      expect((await fetch(`${server.url}/api/models`, { headers: auth })).status).toBe(403)
      const setup = (await (await post(`${server.url}/api/v1/auths/mfa/totp/setup`, {}, auth)).json()) as { secret: string }
      expect((await post(`${server.url}/api/v1/auths/mfa/totp/enable`, { code: codeAt(decodeBase32IgnorePadding(setup.secret), Date.now()) }, auth)).status).toBe(200)
      expect((await fetch(`${server.url}/api/v1/chats/`, { headers: auth })).status).toBe(200)
    } finally {
      await server.stop()
    }
  })

  test('enclave users reset-mfa EMAIL removes the factors beside the running server, audited', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd })
    try {
      const signup = await post(`${server.url}/api/v1/auths/signup`, { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
      const auth = { authorization: `Bearer ${((await signup.json()) as { token: string }).token}` }
      const setup = (await (await post(`${server.url}/api/v1/auths/mfa/totp/setup`, {}, auth)).json()) as { secret: string }
      expect((await post(`${server.url}/api/v1/auths/mfa/totp/enable`, { code: codeAt(decodeBase32IgnorePadding(setup.secret), Date.now()) }, auth)).status).toBe(200)
      expect((await post(`${server.url}/api/v1/auths/signin`, { email: 'ada@example.com', password: PASSWORD })).status).toBe(401)

      const missing = await runBinary(['users', 'reset-mfa'], { cwd })
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain('needs EMAIL')
      const unknown = await runBinary(['users', 'reset-mfa', 'nobody@example.com'], { cwd })
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain('no account has the email')
      const reset = await runBinary(['users', 'reset-mfa', 'ADA@example.com'], { cwd })
      expect(reset.code).toBe(0)
      expect(reset.stdout).toContain('Second factors of ada@example.com removed')
      expect((await post(`${server.url}/api/v1/auths/signin`, { email: 'ada@example.com', password: PASSWORD })).status).toBe(200)
      expect(readFileSync(join(cwd, 'data/audit.log'), 'utf8')).toMatch(/"event":"second_factors_reset".*"method":"cli"/)
      const noData = await runBinary(['users', 'reset-mfa', 'ada@example.com'], { cwd: tempDir() })
      expect(noData.code).toBe(1)
      expect(noData.stderr).toContain('no Enclave database')
    } finally {
      await server.stop()
    }
  })
})
