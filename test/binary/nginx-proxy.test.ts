/**
 * The documented nginx configuration, for real: Debian's nginx with TLS in front of the compiled
 * binary (FORWARDED_ALLOW_IPS=127.0.0.1). Sign-in and a streamed chat over the WebSocket go through
 * the proxy; the audit log holds the client address nginx forwarded; a streamed answer is not held
 * back by buffering; and a forged X-Forwarded-For sent straight to the binary is ignored.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { PASSWORD } from '../helpers/accounts.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { freePort, nginxConf, startNginx } from '../helpers/nginx.ts'
import { chatOverSocket, postJson, readFirstCompletionEvents, signUpRemote } from '../helpers/remote-session.ts'

const root = join(import.meta.dir, '..', '..')
const tempDir = tempDirsRemovedAfterAll()
const dir = tempDir()
const dataDir = join(dir, 'data')

// A client address the test client claims through a stand-in CDN, and one nobody should believe.
const CLIENT_IP = '198.51.100.7'
const FORGED_IP = '203.0.113.66'

let fake: FakeOllama
let server: RunningBinary
let nginx: Awaited<ReturnType<typeof startNginx>>
let httpsUrl: string
let httpUrl: string
let ca: string
let adminToken: string

/** The documented nginx block, pointed at this test's certificate, ports and binary. */
function documentedNginxConfig(upstreamPort: string, httpsPort: number, httpPort: number): string {
  const doc = readFileSync(join(root, 'docs', 'reverse-proxy.md'), 'utf8')
  const block = /<!-- nginx-config:start -->\n```nginx\n([\s\S]*?)```\n<!-- nginx-config:end -->/.exec(doc)?.[1]
  if (block === undefined) throw new Error('docs/reverse-proxy.md has no nginx-config block')
  const replaced = block
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
    .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
    .replaceAll('server_name chat.example.com;', 'server_name 127.0.0.1;')
    .replace('/etc/letsencrypt/live/chat.example.com/fullchain.pem', join(dir, 'cert.pem'))
    .replace('/etc/letsencrypt/live/chat.example.com/privkey.pem', join(dir, 'key.pem'))
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`)
  for (const changed of [`:${httpsPort} ssl`, `:${httpPort};`, 'cert.pem', 'key.pem', `:${upstreamPort};`]) expect(replaced).toContain(changed)
  // Test only: the test client stands in for a CDN in front of nginx and names the client in X-Real-IP.
  return `    set_real_ip_from 127.0.0.1;\n    real_ip_header X-Real-IP;\n${replaced}`
}

beforeAll(async () => {
  const cert = Bun.spawnSync(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdout: 'ignore', stderr: 'pipe' })
  if (cert.exitCode !== 0) throw new Error(`openssl failed: ${cert.stderr.toString()}`)
  ca = readFileSync(join(dir, 'cert.pem'), 'utf8')
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 5 } })
  server = await startBinary({ cwd: dir, env: { DATA_DIR: dataDir, OLLAMA_BASE_URL: fake.url, FORWARDED_ALLOW_IPS: '127.0.0.1', OLLAMA_IDLE_TIMEOUT: '60', SHUTDOWN_TIMEOUT_SECONDS: '2' } })
  const [httpsPort, httpPort] = [freePort(), freePort()]
  httpsUrl = `https://127.0.0.1:${httpsPort}`
  httpUrl = `http://127.0.0.1:${httpPort}`
  const conf = nginxConf(dir, documentedNginxConfig(new URL(server.url).port, httpsPort, httpPort))
  nginx = await startNginx(dir, conf, async () => (await fetch(`${httpsUrl}/health`, { tls: { ca } })).ok)
  adminToken = await signUpRemote(server.url, 'admin@example.com')
}, 30_000)

afterAll(async () => {
  await nginx?.stop()
  await server?.stop()
  await fake?.stop()
})

/** The audit log's entries, parsed. */
const auditEntries = () => readFileSync(join(dataDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)

describe('through nginx', () => {
  test('plain HTTP is redirected to HTTPS', async () => {
    const res = await fetch(`${httpUrl}/api/v1/auths/`, { redirect: 'manual' })
    expect(res.status).toBe(301)
    expect(res.headers.get('location')).toBe(`https://127.0.0.1:${new URL(httpUrl).port}/api/v1/auths/`)
  })

  test('sign-in: the session cookie is Secure and HSTS is sent, because nginx says HTTPS', async () => {
    const res = await fetch(`${httpsUrl}/api/v1/auths/signin`, {
      method: 'POST', tls: { ca },
      headers: { 'content-type': 'application/json', 'x-real-ip': CLIENT_IP, 'x-forwarded-for': FORGED_IP, 'x-forwarded-proto': 'http' },
      body: JSON.stringify({ email: 'admin@example.com', password: PASSWORD }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/i)
    expect(res.headers.get('strict-transport-security')).toContain('max-age=')
  })

  test('the audit log holds the address nginx forwarded, not the proxy\'s and not the one the client made up', () => {
    const signIn = auditEntries().filter((entry) => entry.event === 'signin_succeeded').at(-1)
    expect(signIn?.ip).toBe(CLIENT_IP)
    expect(JSON.stringify(auditEntries())).not.toContain(FORGED_IP)
  })

  test('a streamed chat over the WebSocket (wss, with the browser\'s Origin)', async () => {
    const wsUrl = `${httpsUrl.replace('https', 'wss')}/api/ws`
    const question = 'tell me why the proxy passes every chunk of this answer along'
    const chat = await chatOverSocket(wsUrl, adminToken, question, { tls: { ca }, origin: httpsUrl })
    expect(chat.end.type).toBe('chat:done')
    expect(chat.text).toBe(question)
    // note: the server sends one delta per read from Ollama, so on a busy machine two words that
    // arrive in one read make one delta: passed along in pieces, never as one buffered answer.
    expect(chat.deltas).toBeGreaterThan(1)
    expect(chat.deltas).toBeLessThanOrEqual(question.split(' ').length)
  })

  test('a WebSocket from another Origin is still refused through the proxy', async () => {
    const refused = chatOverSocket(`${httpsUrl.replace('https', 'wss')}/api/ws`, adminToken, 'hi', { tls: { ca }, origin: 'https://evil.example' })
    await expect(refused).rejects.toThrow('did not open')
  })

  test('a streamed answer is not buffered: the first chunks arrive while Ollama stalls mid-answer', async () => {
    fake.setBehaviour({ chunkDelayMs: 0, chunkCount: 50, fault: { kind: 'stall', afterChunks: 3 } })
    try {
      // Buffered, these chunks would wait for the stall to end (OLLAMA_IDLE_TIMEOUT, 60 s); passed on
      // as they come, they arrive at once.
      const { contentType, received } = await readFirstCompletionEvents(httpsUrl, ca, adminToken, 3)
      expect(contentType).toStartWith('text/event-stream')
      expect(received).toContain('"content":"one"')
    } finally {
      fake.setBehaviour({ chunkDelayMs: 5, chunkCount: null, fault: null })
    }
  }, 30_000)
})

describe('straight to the binary', () => {
  /** Sends a raw HTTP request to the binary from 127.0.0.2, which is not a trusted proxy. */
  function requestFrom127002(path: string, body: string, headers: Record<string, string>): Promise<string> {
    const { hostname, port } = new URL(server.url)
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: hostname, port: Number(port), localAddress: '127.0.0.2' }, () => {
        const lines = [`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close',
          ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)]
        socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
      })
      let response = ''
      socket.on('data', (data) => (response += data.toString()))
      socket.on('end', () => resolve(response))
      socket.on('error', reject)
    })
  }

  test('a forged X-Forwarded-For from a client that is not a trusted proxy is ignored', async () => {
    const response = await requestFrom127002('/api/v1/auths/signin', JSON.stringify({ email: 'admin@example.com', password: 'not the password' }),
      { 'X-Forwarded-For': FORGED_IP, 'X-Forwarded-Proto': 'https', 'X-Real-IP': FORGED_IP })
    expect(response).toStartWith('HTTP/1.1 400')
    expect(response).not.toMatch(/strict-transport-security/i)
    const failed = auditEntries().filter((entry) => entry.event === 'signin_failed').at(-1)
    expect(failed?.ip).toBe('127.0.0.2')
    expect(JSON.stringify(auditEntries())).not.toContain(FORGED_IP)
  })

  test('the same header from the trusted proxy address is believed (the contrast)', async () => {
    const res = await postJson(server.url, '/api/v1/auths/signin', { email: 'admin@example.com', password: 'still not it' }, { 'x-forwarded-for': '192.0.2.44' })
    expect(res.status).toBe(400)
    expect(auditEntries().filter((entry) => entry.event === 'signin_failed').at(-1)?.ip).toBe('192.0.2.44')
  })

  test('nginx logged no errors', async () => {
    expect(await nginx.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/)
  })
})
