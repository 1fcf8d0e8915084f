/**
 * Single-user mode turned off, in the compiled binary: the account it left has no password, the
 * start says so and how to set one, the sign-in page's claim sets it over HTTP (with the setup token
 * when the server listens beyond loopback), and from then on the account signs in with it.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const password = () => `pw-${crypto.randomUUID()}`

/** Runs single-user mode once in `cwd`, so its data directory holds the passwordless admin. */
async function leaveSingleUserAccount(cwd: string): Promise<void> {
  const single = await startBinary({ cwd, env: { SINGLE_USER_MODE: 'true' } })
  expect(await single.stop()).toBe(0)
}

const postJson = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const claimOf = async (base: string) => ((await (await fetch(`${base}/api/config`)).json()) as { account_claim?: { email: string } }).account_claim

describe('single-user mode turned off', () => {
  test('on loopback: the start says the admin needs a password, the claim sets it and signs in, and then it is gone', async () => {
    const cwd = tempDir()
    await leaveSingleUserAccount(cwd)
    const chosen = password()
    const server = await startBinary({ cwd })
    try {
      expect(server.output()).toContain('The admin account admin@localhost has no password: open the sign-in page and set one there, on this machine.')
      expect(await claimOf(server.url)).toEqual({ email: 'admin@localhost' })
      const crossSite = await fetch(`${server.url}/api/v1/auths/claim`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify({ password: chosen }) })
      expect(crossSite.status).toBe(403)

      const claimed = await postJson(server.url, '/api/v1/auths/claim', { password: chosen })
      expect(claimed.status).toBe(200)
      expect(await claimed.json()).toMatchObject({ email: 'admin@localhost', role: 'admin' })
      const cookie = /token=[^;]+/.exec(claimed.headers.get('set-cookie') ?? '')![0]
      expect((await fetch(`${server.url}/api/v1/chats/`, { headers: { cookie } })).status).toBe(200)

      expect((await postJson(server.url, '/api/v1/auths/claim', { password: password() })).status).toBe(409)
      expect(await claimOf(server.url)).toBeUndefined()
      expect((await postJson(server.url, '/api/v1/auths/signin', { email: 'admin@localhost', password: chosen })).status).toBe(200)
      expect(server.output()).not.toContain(chosen)
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const again = await startBinary({ cwd })
    try {
      expect(again.output()).not.toContain('has no password')
      expect((await postJson(again.url, '/api/v1/auths/signin', { email: 'admin@localhost', password: chosen })).status).toBe(200)
    } finally {
      await again.stop()
    }
  }, 60_000)

  test('beyond loopback: the claim needs the setup token, whose file the log names (never the token itself)', async () => {
    const cwd = tempDir()
    await leaveSingleUserAccount(cwd)
    const server = await startBinary({ cwd, args: ['--host', '0.0.0.0'] })
    const local = `http://127.0.0.1:${new URL(server.url).port}`
    const tokenFile = join(cwd, 'data', '.setup_token')
    try {
      expect(server.output()).toContain(`The admin account admin@localhost has no password: open the sign-in page and set one there, with the setup token in ${tokenFile}.`)
      const token = readFileSync(tokenFile, 'utf8').trim()
      expect(server.output()).not.toContain(token)
      const refused = await postJson(local, '/api/v1/auths/claim', { password: password() })
      expect(refused.status).toBe(403)
      expect(await refused.json()).toMatchObject({ code: 'setup_token_required' })
      expect((await postJson(local, '/api/v1/auths/claim', { password: password(), setup_token: `${token}x` })).status).toBe(403)

      const chosen = password()
      expect((await postJson(local, '/api/v1/auths/claim', { password: chosen, setup_token: token })).status).toBe(200)
      expect(existsSync(tokenFile)).toBe(false)
      expect((await postJson(local, '/api/v1/auths/signin', { email: 'admin@localhost', password: chosen })).status).toBe(200)
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 60_000)
})
