import { describe, expect, test } from 'bun:test'
import { PASSWORD } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'

/** Starts the app on a real socket (127.0.0.1), signs up one account, and hands back a fetch to it. */
async function listening(env: Record<string, string>, run: (post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<Response>) => Promise<void>) {
  const { app } = startTestApp(env)
  app.listen({ hostname: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${app.server!.port}`
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  try {
    const res = await post('/api/v1/auths/signup', { name: 'Ada', email: 'ada@example.com', password: PASSWORD })
    expect(res.status).toBe(200)
    await run(post)
  } finally {
    await app.stop()
  }
}

const signin = { email: 'ada@example.com', password: PASSWORD }
const attributesOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';').map((part) => part.trim().toLowerCase())

describe('the session cookie', () => {
  test('over plain HTTP from 127.0.0.1: not Secure', async () => {
    await listening({}, async (post) => {
      const res = await post('/api/v1/auths/signin', signin)
      expect(res.status).toBe(200)
      expect(attributesOf(res)).toContain('httponly')
      expect(attributesOf(res)).not.toContain('secure')
    })
  })

  test('X-Forwarded-Proto: https from 127.0.0.1 (trusted by default) makes it Secure', async () => {
    await listening({}, async (post) => {
      const res = await post('/api/v1/auths/signin', signin, { 'x-forwarded-proto': 'https' })
      expect(res.status).toBe(200)
      expect(attributesOf(res)).toContain('secure')
    })
  })

  test('with FORWARDED_ALLOW_IPS=10.0.0.1 the same header is ignored', async () => {
    await listening({ FORWARDED_ALLOW_IPS: '10.0.0.1' }, async (post) => {
      const res = await post('/api/v1/auths/signin', signin, { 'x-forwarded-proto': 'https' })
      expect(res.status).toBe(200)
      expect(attributesOf(res)).not.toContain('secure')
    })
  })

  test('WEBUI_SESSION_COOKIE_SECURE=true makes it Secure over HTTP', async () => {
    await listening({ WEBUI_SESSION_COOKIE_SECURE: 'true', FORWARDED_ALLOW_IPS: '10.0.0.1' }, async (post) => {
      expect(attributesOf(await post('/api/v1/auths/signin', signin))).toContain('secure')
    })
  })

  test('WEBUI_SESSION_COOKIE_SAME_SITE=strict gives SameSite=Strict', async () => {
    await listening({ WEBUI_SESSION_COOKIE_SAME_SITE: 'strict' }, async (post) => {
      const res = await post('/api/v1/auths/signin', signin)
      expect(res.headers.get('set-cookie')).toContain('SameSite=Strict')
    })
  })
})

describe('the per-IP sign-in bucket and X-Forwarded-For', () => {
  const env = { SIGNIN_RATE_LIMIT_PER_IP: '2/1m' }
  const attempts = async (post: (path: string, body: unknown, headers?: Record<string, string>) => Promise<Response>, forwardedFor: string[]) => {
    const statuses: number[] = []
    for (const [i, address] of forwardedFor.entries()) {
      const res = await post('/api/v1/auths/signin', { email: `probe${i}@example.com`, password: 'wrong password' }, { 'x-forwarded-for': address })
      statuses.push(res.status)
    }
    return statuses
  }

  test('from an untrusted peer, rotating forged X-Forwarded-For values share one bucket', async () => {
    await listening({ ...env, FORWARDED_ALLOW_IPS: '10.0.0.1' }, async (post) => {
      expect(await attempts(post, ['198.51.100.1', '198.51.100.2', '198.51.100.3'])).toEqual([400, 400, 429])
    })
  })

  test('from a trusted peer (the default), distinct X-Forwarded-For values count separately', async () => {
    await listening(env, async (post) => {
      expect(await attempts(post, ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'])).toEqual([400, 400, 400, 400])
      expect(await attempts(post, ['203.0.113.9', '203.0.113.9', '203.0.113.9'])).toEqual([400, 400, 429])
    })
  })

  test('a client-supplied address left of the proxy\'s entry does not pick the bucket', async () => {
    await listening(env, async (post) => {
      const forged = ['1.1.1.1, 203.0.113.9', '2.2.2.2, 203.0.113.9', '3.3.3.3, 203.0.113.9']
      expect(await attempts(post, forged)).toEqual([400, 400, 429])
    })
  })
})

/** Sends one raw HTTP/1.1 request, so the Host header is exactly what a proxy or LAN name would send. */
function rawGet(port: number, path: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    void Bun.connect({
      hostname: '127.0.0.1', port, socket: {
        open: (socket) => void socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        data: (_, chunk) => void (answer += chunk.toString()),
        close: () => resolve(answer),
        error: (_, error) => reject(error),
      },
    })
  })
}

// A LAN name such as http://llm/ or http://ai/ (port 80, behind a proxy that keeps Host), once allowed, must route like any other.
test.each([['chat.example.com'], ['llm'], ['ai']])('Host: %s still reaches the API, not the page', async (host) => {
  const { app } = startTestApp({ ALLOWED_HOSTS: 'chat.example.com,llm,ai' })
  app.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const answer = await rawGet(app.server!.port!, '/api/v1/auths/', host)
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized')
    expect(answer).toContain('"code":"not_authenticated"')
  } finally {
    await app.stop()
  }
})

test.each([['evil.example'], ['evil.example:8080'], ['llm'], ['127.0.0.1.evil.example']])('Host: %s, not allowed, gets 421 with the security headers', async (host) => {
  const { app } = startTestApp()
  app.listen({ hostname: '127.0.0.1', port: 0 })
  try {
    const answer = await rawGet(app.server!.port!, '/api/v1/auths/', host)
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 421 Misdirected Request')
    expect(answer).toContain('"code":"host_not_allowed"')
    expect(answer.toLowerCase()).toContain('x-content-type-options: nosniff')
    expect(answer.toLowerCase()).toContain('content-security-policy:')
  } finally {
    await app.stop()
  }
})
