/**
 * The documented Caddy configuration, run with Debian's Caddy in front of the compiled binary: TLS
 * from Caddy's local CA, sign-in over HTTPS (Secure cookie, HSTS), a streamed chat over the
 * WebSocket, a streamed answer passed on unbuffered, and a client's forged X-Forwarded-For dropped.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { PASSWORD } from '../helpers/accounts.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { caddyfile, caddyRootCert, startCaddy } from '../helpers/caddy.ts'
import { freePort } from '../helpers/nginx.ts'
import { chatOverSocket, readFirstCompletionEvents, signUpRemote } from '../helpers/remote-session.ts'

const root = join(import.meta.dir, '..', '..')
const dir = tempDirsRemovedAfterAll()()
const dataDir = join(dir, 'data')
const FORGED_IP = '203.0.113.66'

let fake: FakeOllama
let server: RunningBinary
let caddy: Awaited<ReturnType<typeof startCaddy>>
let httpsUrl: string
let ca = ''
let adminToken: string

/** The documented Caddy site, served at this test's address and pointed at this test's binary. */
function documentedCaddySite(httpsPort: number, upstreamPort: string): string {
  const doc = readFileSync(join(root, 'docs', 'reverse-proxy.md'), 'utf8')
  const block = /<!-- caddy-config:start -->\n```caddy\n([\s\S]*?)```\n<!-- caddy-config:end -->/.exec(doc)?.[1]
  if (block === undefined) throw new Error('docs/reverse-proxy.md has no caddy-config block')
  const site = block.replace('chat.example.com {', `https://127.0.0.1:${httpsPort} {`).replace('reverse_proxy 127.0.0.1:8080 {', `reverse_proxy 127.0.0.1:${upstreamPort} {`)
  expect(site).toContain(`:${httpsPort} {`)
  expect(site).toContain(`:${upstreamPort} {`)
  return site
}

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 5 } })
  server = await startBinary({ cwd: dir, env: { DATA_DIR: dataDir, OLLAMA_BASE_URL: fake.url, SHUTDOWN_TIMEOUT_SECONDS: '2' } })
  const ports = { http: freePort(), https: freePort() }
  httpsUrl = `https://127.0.0.1:${ports.https}`
  const config = caddyfile(dir, ports, documentedCaddySite(ports.https, new URL(server.url).port))
  caddy = await startCaddy(dir, config, async () => {
    if (!existsSync(caddyRootCert(dir))) return false
    ca = readFileSync(caddyRootCert(dir), 'utf8')
    return (await fetch(`${httpsUrl}/health`, { tls: { ca } })).ok
  })
  adminToken = await signUpRemote(server.url, 'admin@example.com')
}, 30_000)

afterAll(async () => {
  await caddy?.stop()
  await server?.stop()
  await fake?.stop()
}, 20_000)

const auditEntries = () => readFileSync(join(dataDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)

test('sign-in over HTTPS: Secure cookie and HSTS; the client\'s own X-Forwarded-For is dropped', async () => {
  const res = await fetch(`${httpsUrl}/api/v1/auths/signin`, {
    method: 'POST', tls: { ca },
    headers: { 'content-type': 'application/json', 'x-forwarded-for': FORGED_IP, 'x-forwarded-proto': 'http' },
    body: JSON.stringify({ email: 'admin@example.com', password: PASSWORD }),
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('set-cookie')).toMatch(/; Secure/i)
  expect(res.headers.get('strict-transport-security')).toContain('max-age=')
  expect(auditEntries().filter((entry) => entry.event === 'signin_succeeded').at(-1)?.ip).toBe('127.0.0.1')
  expect(JSON.stringify(auditEntries())).not.toContain(FORGED_IP)
})

test('a streamed chat over the WebSocket (wss, with the browser\'s Origin)', async () => {
  const question = 'does caddy pass the socket through as well'
  const chat = await chatOverSocket(`${httpsUrl.replace('https', 'wss')}/api/ws`, adminToken, question, { tls: { ca }, origin: httpsUrl })
  expect(chat.end.type).toBe('chat:done')
  expect(chat.text).toBe(question)
})

test('a streamed answer is passed on as it comes, while Ollama stalls mid-answer', async () => {
  fake.setBehaviour({ chunkDelayMs: 0, chunkCount: 50, fault: { kind: 'stall', afterChunks: 3 } })
  try {
    // The stall lasts OLLAMA_IDLE_TIMEOUT (60 s): chunks held back by the proxy would not arrive in time.
    const { received } = await readFirstCompletionEvents(httpsUrl, ca, adminToken, 3)
    expect(received).toContain('"content":"one"')
  } finally {
    fake.setBehaviour({ chunkDelayMs: 5, chunkCount: null, fault: null })
  }
}, 30_000)
