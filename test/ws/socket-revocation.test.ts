/**
 * Revocation reaches open sockets and running answers at once: for each way an account loses
 * access (sign-out, sign-out everywhere, a session deleted, a password change, a role change, the
 * user or an API key deleted), the socket on the revoked credential closes with 4401 well before
 * the periodic re-check, a `chat:send` sent right after is never served, and the answer it had
 * running is aborted at Ollama and stored no further. Deleting a chat (or all of them) stops the
 * answer streaming into it, and nothing of it is stored.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama, type FakeRequest } from '../fakes/ollama.ts'
import { bearer, PASSWORD, signIn, signUp, statusOf, type SessionBody } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
/** Far below the 5 s periodic re-check; the margin is for a loaded machine. */
const AT_ONCE_MS = 300
/** A slow answer: 400 chunks 20 ms apart, so it runs for 8 s unless stopped. */
const SLOW = { chunkDelayMs: 20, chunkCount: 400 }

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let admin: SessionBody
let accounts = 0
const open: TestSocket[] = []

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: SLOW })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false', DEFAULT_USER_ROLE: 'user', ENABLE_API_KEYS: 'true' })
  admin = await signUp(started.app, 'admin@example.com')
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  url = `ws://127.0.0.1:${started.app.server!.port}/api/ws`
})

afterAll(async () => {
  for (const socket of open) socket.ws.close()
  await started.app.stop(true)
  await fake.stop()
})

type Victim = SessionBody & { userId: UserId }

/** A new account (role `user`, or promoted to admin) with one session. */
async function newVictim(role: 'user' | 'admin'): Promise<Victim> {
  accounts += 1
  const account = await signUp(started.app, `victim${accounts}@example.com`)
  if (role === 'admin') await expectStatus('POST', `/api/v1/users/${account.id}/update`, admin.token, 200, { role: 'admin' })
  return { ...account, userId: account.id as UserId }
}

async function expectStatus(method: string, path: string, token: string, status: number, body?: unknown) {
  expect(await statusOf(started.app, method, path, bearer(token), body)).toBe(status)
}

async function socketWith(credential: string): Promise<TestSocket> {
  const socket = await connect(url, { token: credential })
  open.push(socket)
  return socket
}

const chatRequests = () => fake.requests.filter((request) => request.path === '/api/chat')

/** Starts a slow answer and waits for its first delta; returns the turn and Ollama's request for it. */
async function startSlowAnswer(socket: TestSocket) {
  const before = chatRequests().length
  socket.send({ type: 'chat:send', model: MODEL, content: 'tell me a very long story please' })
  const turn = await socket.nextFrame(ofType('chat:started'))
  await socket.nextFrame(ofType('chat:delta', turn.messageId))
  const request = chatRequests()[before]
  if (request === undefined) throw new Error('the answer never reached the fake Ollama')
  return { chatId: turn.chatId as ChatId, messageId: turn.messageId, request }
}

/** How the request ended, or 'running' when it has not within `ms`. */
const settledWithin = (request: FakeRequest, ms: number) => Promise.race([request.settled, Bun.sleep(ms).then(() => 'running' as const)])
const closedWithin = (socket: TestSocket, ms: number) => Promise.race([socket.closed, Bun.sleep(ms).then(() => null)])
const storedAnswer = async (victim: Victim, chatId: ChatId) => (await started.deps.store.chats.listMessagesInChat(victim.userId, chatId)).find((message) => message.role === 'assistant') ?? null

const chatCountOf = (victim: Victim) => started.deps.store.db!.query<{ n: number }, [string]>('SELECT count(*) AS n FROM chat WHERE user_id = ?').get(victim.userId)!.n

/** Another session of the victim, and the id of the victim's first one as the other sees it. */
async function secondSession(victim: Victim) {
  const other = await signIn(started.app, victim.email)
  const res = await started.app.handle(req('GET', '/api/v1/auths/sessions', undefined, bearer(other.token)))
  const sessions = (await res.json()) as { id: string; current: boolean }[]
  return { other, victimSessionId: sessions.find((session) => !session.current)!.id }
}

type Revocation = {
  role: 'user' | 'admin'
  /** The credential the socket opens with; the session token unless given. */
  credential?: (victim: Victim) => Promise<string>
  revoke: (victim: Victim, credential: string) => Promise<void>
}

const revocations: [string, Revocation][] = [
  ['sign-out', { role: 'user', revoke: (victim) => expectStatus('POST', '/api/v1/auths/signout', victim.token, 200) }],
  ['sign-out everywhere', { role: 'user', revoke: (victim) => expectStatus('POST', '/api/v1/auths/signout/all', victim.token, 200) }],
  ['the session deleted from another session', {
    role: 'user',
    revoke: async (victim) => {
      const { other, victimSessionId } = await secondSession(victim)
      await expectStatus('DELETE', `/api/v1/auths/sessions/${victimSessionId}`, other.token, 200)
    },
  }],
  ['a password change in another session', {
    role: 'user',
    revoke: async (victim) => {
      const other = await signIn(started.app, victim.email)
      await expectStatus('POST', '/api/v1/auths/update/password', other.token, 200, { password: PASSWORD, new_password: 'a different horse battery staple' })
    },
  }],
  ['a user made pending', { role: 'user', revoke: (victim) => expectStatus('POST', `/api/v1/users/${victim.id}/update`, admin.token, 200, { role: 'pending' }) }],
  ['an admin made pending', { role: 'admin', revoke: (victim) => expectStatus('POST', `/api/v1/users/${victim.id}/update`, admin.token, 200, { role: 'pending' }) }],
  ['second factors reset by an admin', { role: 'user', revoke: (victim) => expectStatus('DELETE', `/api/v1/auths/mfa/users/${victim.id}`, admin.token, 200) }],
  ['the user deleted', { role: 'user', revoke: (victim) => expectStatus('DELETE', `/api/v1/users/${victim.id}`, admin.token, 200) }],
  ['the API key the socket opened with deleted', {
    role: 'admin',
    credential: async (victim) => {
      const res = await started.app.handle(req('POST', '/api/v1/auths/api_key', { name: 'socket' }, bearer(victim.token)))
      return ((await res.json()) as { api_key: string }).api_key
    },
    revoke: async (victim) => {
      const res = await started.app.handle(req('GET', '/api/v1/auths/api_key', undefined, bearer(victim.token)))
      const { keys } = (await res.json()) as { keys: { id: string }[] }
      await expectStatus('DELETE', `/api/v1/auths/api_key/${keys[0]!.id}`, victim.token, 200)
    },
  }],
  ['the sessions revoked in the database, announced without saying which (as another instance relays it)', {
    role: 'user',
    revoke: async (victim) => {
      await started.deps.store.sql.run('UPDATE session SET revoked_at = ? WHERE user_id = ?', Date.now(), victim.userId)
      started.deps.store.accountChanges.accessChanged(victim.userId)
    },
  }],
  ['every API key deleted', {
    role: 'admin',
    credential: async (victim) => {
      const res = await started.app.handle(req('POST', '/api/v1/auths/api_key', { name: 'socket' }, bearer(victim.token)))
      return ((await res.json()) as { api_key: string }).api_key
    },
    revoke: (victim) => expectStatus('DELETE', '/api/v1/auths/api_key', victim.token, 200),
  }],
]

describe('a revoked credential', () => {
  test.each(revocations)('%s: the socket closes at once, a frame sent after is not served, the answer stops at Ollama and is stored no further', async (name, row) => {
    const victim = await newVictim(row.role)
    const credential = row.credential === undefined ? victim.token : await row.credential(victim)
    const socket = await socketWith(credential)
    const answer = await startSlowAnswer(socket)
    const requestsBefore = chatRequests().length

    await row.revoke(victim, credential)
    const revokedAt = performance.now()
    // note: sent before the client has seen the close, as a client racing the revocation would.
    if (socket.ws.readyState === WebSocket.OPEN) socket.send({ type: 'chat:send', model: MODEL, content: 'one more after the revocation' })

    const closed = await closedWithin(socket, AT_ONCE_MS)
    expect(closed?.code).toBe(4401)
    expect(await settledWithin(answer.request, AT_ONCE_MS)).toBe('aborted')
    expect(performance.now() - revokedAt).toBeLessThan(AT_ONCE_MS)

    await Bun.sleep(150)
    expect(chatRequests().length).toBe(requestsBefore)
    expect(socket.frames.filter(ofType('chat:started')).length).toBe(1)
    if (name === 'the user deleted') {
      expect(chatCountOf(victim)).toBe(0)
      return
    }
    const stopped = await storedAnswer(victim, answer.chatId)
    expect(stopped).toMatchObject({ stats: { cancelled: true } })
    expect(stopped!.content.split(' ').length).toBeLessThan(SLOW.chunkCount)
    await Bun.sleep(1_200) // note: longer than the 1 s checkpoint interval
    expect(await storedAnswer(victim, answer.chatId)).toEqual(stopped)
  })

  test('a regenerate is stopped too: signing out ends the new answer at Ollama, stored cancelled beside the first', async () => {
    const victim = await newVictim('user')
    const socket = await socketWith(victim.token)
    const first = await startSlowAnswer(socket)
    socket.send({ type: 'chat:cancel', messageId: first.messageId })
    await socket.nextFrame(ofType('chat:done', first.messageId))
    const begun = socket.frames.find(ofType('chat:started', first.messageId))!
    const before = chatRequests().length
    socket.send({ type: 'chat:regenerate', chatId: first.chatId, parentId: begun.parentId, model: MODEL })
    const again = await socket.nextFrame(ofType('chat:started'))
    await socket.nextFrame(ofType('chat:delta', again.messageId))
    const request = chatRequests()[before]!

    await expectStatus('POST', '/api/v1/auths/signout', victim.token, 200)
    expect((await closedWithin(socket, AT_ONCE_MS))?.code).toBe(4401)
    expect(await settledWithin(request, AT_ONCE_MS)).toBe('aborted')
    const answers = async () => (await started.deps.store.chats.listMessagesInChat(victim.userId, first.chatId)).filter((message) => message.role === 'assistant')
    await Bun.sleep(150)
    expect((await answers()).map((message) => [message.status, message.parentId as number | null])).toEqual([['cancelled', Number(begun.userMessageId)], ['cancelled', Number(begun.userMessageId)]])
  })

  test('an admin made a user keeps the socket and the answer: users may chat', async () => {
    const victim = await newVictim('admin')
    const socket = await socketWith(victim.token)
    const answer = await startSlowAnswer(socket)

    await expectStatus('POST', `/api/v1/users/${victim.id}/update`, admin.token, 200, { role: 'user' })
    expect(await closedWithin(socket, AT_ONCE_MS)).toBeNull()
    expect(await settledWithin(answer.request, 50)).toBe('running')
    socket.send({ type: 'chat:cancel', messageId: answer.messageId })
    expect(await socket.nextFrame(ofType('chat:done', answer.messageId))).toMatchObject({ cancelled: true })
    fake.setBehaviour({ chunkCount: 3 })
    try {
      socket.send({ type: 'chat:send', model: MODEL, content: 'still here' })
      const next = await socket.nextFrame(ofType('chat:started'))
      expect(await socket.nextFrame(ofType('chat:done', next.messageId))).toMatchObject({ cancelled: false })
    } finally {
      fake.setBehaviour(SLOW)
    }
  })

  test('signing out one session leaves the other session\'s socket and answer running', async () => {
    const victim = await newVictim('user')
    const other = await signIn(started.app, victim.email)
    const revoked = await socketWith(victim.token)
    const kept = await socketWith(other.token)
    const keptAnswer = await startSlowAnswer(kept)

    await expectStatus('POST', '/api/v1/auths/signout', victim.token, 200)
    expect((await closedWithin(revoked, AT_ONCE_MS))?.code).toBe(4401)
    expect(await settledWithin(keptAnswer.request, 50)).toBe('running')
    expect(kept.ws.readyState).toBe(WebSocket.OPEN)
    kept.send({ type: 'chat:cancel', messageId: keptAnswer.messageId })
    await kept.nextFrame(ofType('chat:done', keptAnswer.messageId))
  })
})

test('another user\'s revocations and deletions, and their attempt to delete this chat, leave this user\'s socket and answer running', async () => {
  const bystander = await newVictim('user')
  const socket = await socketWith(bystander.token)
  const answer = await startSlowAnswer(socket)
  const intruder = await newVictim('user')
  const intruderSocket = await socketWith(intruder.token)

  await expectStatus('DELETE', `/api/v1/chats/${answer.chatId}`, intruder.token, 404)
  await expectStatus('DELETE', '/api/v1/chats/', intruder.token, 200)
  await expectStatus('POST', '/api/v1/auths/signout/all', intruder.token, 200)
  expect((await closedWithin(intruderSocket, AT_ONCE_MS))?.code).toBe(4401)
  await expectStatus('DELETE', `/api/v1/users/${intruder.id}`, admin.token, 200)

  expect(await settledWithin(answer.request, 50)).toBe('running')
  expect(socket.ws.readyState).toBe(WebSocket.OPEN)
  expect(socket.frames.some((frame) => frame.type === 'chat:error')).toBe(false)
  socket.send({ type: 'chat:cancel', messageId: answer.messageId })
  await socket.nextFrame(ofType('chat:done', answer.messageId))
})

describe('a deleted chat', () => {
  test.each<[string, (victim: Victim, chatId: ChatId) => string]>([
    ['the chat deleted', (_, chatId) => `/api/v1/chats/${chatId}`],
    ['all chats deleted', () => '/api/v1/chats/'],
  ])('%s: the answer stops at Ollama at once and nothing of it is stored; the socket stays', async (_, pathOf) => {
    const victim = await newVictim('user')
    const socket = await socketWith(victim.token)
    const answer = await startSlowAnswer(socket)

    await expectStatus('DELETE', pathOf(victim, answer.chatId), victim.token, 200)
    expect(await settledWithin(answer.request, AT_ONCE_MS)).toBe('aborted')
    expect(await socket.nextFrame(ofType('chat:error', answer.messageId), AT_ONCE_MS)).toMatchObject({ code: 'chat_not_found' })

    await Bun.sleep(1_200) // note: longer than the 1 s checkpoint interval
    expect(await started.deps.store.chats.findChatForUser(victim.userId, answer.chatId)).toBeNull()
    expect(await started.deps.store.chats.listMessagesInChat(victim.userId, answer.chatId)).toEqual([])
    expect(chatCountOf(victim)).toBe(0)
    expect(socket.ws.readyState).toBe(WebSocket.OPEN)
  })

  test('another chat\'s answer runs on', async () => {
    const victim = await newVictim('user')
    const socket = await socketWith(victim.token)
    const kept = await startSlowAnswer(socket)
    const doomed = await startSlowAnswer(socket)

    await expectStatus('DELETE', `/api/v1/chats/${doomed.chatId}`, victim.token, 200)
    expect(await settledWithin(doomed.request, AT_ONCE_MS)).toBe('aborted')
    expect(await settledWithin(kept.request, 50)).toBe('running')
    socket.send({ type: 'chat:cancel', messageId: kept.messageId })
    await socket.nextFrame(ofType('chat:done', kept.messageId))
  })
})
