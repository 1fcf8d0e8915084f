/**
 * Drives a running Enclave over the network, as a client would: sign up or in through the HTTP
 * routes, then one chat turn over the WebSocket. For the binary, systemd, proxy and offline suites.
 */
import { expect } from 'bun:test'
import { PASSWORD } from './accounts.ts'
import { connect, ofType, type ConnectOptions } from './ws.ts'

export const FAKE_MODEL = 'qwen2.5:0.5b'

/** POSTs JSON to `baseUrl + path` with extra headers; returns the response. */
export function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

/** Signs up (the first account becomes admin) and returns the session token; fails the test unless 200. */
export async function signUpRemote(baseUrl: string, email: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await postJson(baseUrl, '/api/v1/auths/signup', { name: 'Ada', email, password: PASSWORD }, headers)
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

/** Signs in and returns the session token; fails the test unless 200. */
export async function signInRemote(baseUrl: string, email: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await postJson(baseUrl, '/api/v1/auths/signin', { email, password: PASSWORD }, headers)
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

/** Sends one chat turn over `wsUrl` and returns the streamed text and the number of deltas. */
export async function chatOverSocket(wsUrl: string, token: string, content: string, options: Omit<ConnectOptions, 'token'> & { model?: string } = {}) {
  const { model = FAKE_MODEL, ...connectOptions } = options
  const socket = await connect(wsUrl, { token, ...connectOptions })
  try {
    socket.send({ type: 'chat:send', model, content })
    const started = await socket.nextFrame(ofType('chat:started'), 10_000)
    const end = await socket.nextFrame((frame) => (frame.type === 'chat:done' || frame.type === 'chat:error') && frame.messageId === started.messageId, 20_000)
    const deltas = socket.frames.filter(ofType('chat:delta', started.messageId))
    return { end, chatId: started.chatId as string, deltas: deltas.length, text: deltas.map((frame) => frame.content).join('') }
  } finally {
    await socket.close()
  }
}

/**
 * Asks for a streamed OpenAI completion over HTTPS and reads until `events` SSE events arrived (or
 * 15 s passed, so a failure can't hang), then drops the stream. Returns what arrived and its type.
 */
export async function readFirstCompletionEvents(baseUrl: string, ca: string, token: string, events: number) {
  const res = await fetch(`${baseUrl}/api/chat/completions`, {
    method: 'POST', tls: { ca },
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ model: FAKE_MODEL, messages: [{ role: 'user', content: 'one two three four five' }], stream: true }),
  })
  const reader = res.body!.getReader()
  let received = ''
  const giveUp = Bun.sleep(15_000).then(() => ({ done: true as const, value: undefined }))
  while ((received.match(/^data: /gm) ?? []).length < events) {
    const chunk = await Promise.race([reader.read(), giveUp])
    if (chunk.done) break
    received += new TextDecoder().decode(chunk.value)
  }
  await reader.cancel()
  return { contentType: res.headers.get('content-type'), received }
}
