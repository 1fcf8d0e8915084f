/**
 * Three compiled instances behind nginx on one PostgreSQL and one Redis (test/helpers/cluster.ts,
 * the shipped nginx config), as docker-compose.scale.yml runs them: the first sign-ups race to one
 * admin; a user signs in through one instance, chats through another, and a tab on the third sees
 * the answer live; a sign-out on one closes the sockets on the others within a second; the sign-in
 * limit holds across instances; an instance killed mid-answer loses nothing committed, and its
 * client goes on through nginx; Redis and PostgreSQL restarted under load answer clear 503s meanwhile
 * and lose nothing; and neither PostgreSQL's files nor a Redis dump hold any plaintext marker.
 *
 * several-instances-proxy.test.ts checks the harness's other parts on SQLite copies.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, PASSWORD } from '../helpers/accounts.ts'
import { startCluster, type TestCluster } from '../helpers/cluster.ts'
import { FAKE_MODEL, postJson, signInRemote, signUpRemote } from '../helpers/remote-session.ts'
import { connect, ofType, type TestSocket } from '../helpers/ws.ts'

/** Within a second, as the issue asks; the periodic recheck is 5 s. */
const WITHIN_A_SECOND_MS = 1_000
const MARKERS = { question: 'MARKER-QUESTION-3b9e', title: 'MARKER-TITLE-d41a', name: 'MARKER-NAME-82c5', email: 'marker-email-5f0d@example.com', load: 'MARKER-LOAD-e7a2' }

let fake: FakeOllama
let cluster: TestCluster
const sockets: TestSocket[] = []

beforeAll(async () => {
  // note: a long, slow answer (about 8 s), so a kill or a revocation lands in the middle of it.
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 20, chunkCount: 400 } })
  cluster = await startCluster({
    store: 'postgres', instances: 3,
    env: {
      OLLAMA_BASE_URL: fake.url, ENABLE_SIGNUP: 'true', DEFAULT_USER_ROLE: 'user',
      SIGNIN_RATE_LIMIT_PER_IP: '10/3m',
    },
  })
  for (let attempt = 0; attempt < 250; attempt++) {
    if ((await cluster.redis.cli('PUBSUB', 'NUMSUB', 'enclave-cluster:cluster:frames')).endsWith('\n3')) break
    await Bun.sleep(20)
  }
}, 120_000)

afterAll(async () => {
  for (const socket of sockets) socket.ws.close()
  await cluster?.stop()
  await fake?.stop()
}, 60_000)

const wsOf = (url: string) => `${url.replace('http', 'ws')}/api/ws`

async function socketOn(url: string, token: string): Promise<TestSocket> {
  const socket = await connect(url.startsWith('ws') ? url : wsOf(url), { token })
  sockets.push(socket)
  return socket
}

async function until(predicate: () => Promise<boolean> | boolean, what: string, attempts = 500) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await predicate()) return
    await Bun.sleep(20)
  }
  throw new Error(`timed out waiting for ${what}`)
}

type ExportedChat = { id: string; title: string; chat: { history: { messages: Record<string, { role: string; content: string }> } } }

/** Every chat of the user with its messages, in Open WebUI's export shape, through nginx. */
async function exportChats(token: string): Promise<ExportedChat[]> {
  const res = await fetch(`${cluster.url}/api/v1/chats/all`, { headers: bearer(token) })
  expect(res.status).toBe(200)
  return ((await res.json()) as ExportedChat[]).sort((a, b) => a.id.localeCompare(b.id))
}

let adaToken = ''
let adminToken = ''

test('twenty concurrent first sign-ups spread over the three instances make exactly one admin', async () => {
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    postJson(cluster.instances[i % 3]!.url, '/api/v1/auths/signup', { name: i === 0 ? MARKERS.name : `User ${i}`, email: i === 0 ? MARKERS.email : `first${i}@example.com`, password: PASSWORD },
      // note: twenty people, twenty addresses: the per-address limit (10 here) is not what this test is about.
      { 'x-forwarded-for': `198.51.100.${100 + i}` })))
  expect(answers.map((res) => res.status)).toEqual(Array.from({ length: 20 }, () => 200))
  const sessions = await Promise.all(answers.map(async (res) => (await res.json()) as { role: string; token: string }))
  const roles = sessions.map((session) => session.role)
  expect(roles.filter((role) => role === 'admin')).toHaveLength(1)
  expect(roles.filter((role) => role === 'user')).toHaveLength(19)
  adminToken = sessions.find((session) => session.role === 'admin')!.token
}, 60_000)

test('online key rotations are refused while several instances share the database: the others hold the keys in memory', async () => {
  for (const path of ['/api/v1/admin/keys/rotate-master', '/api/v1/admin/keys/rotate-data']) {
    const res = await postJson(cluster.instances[0]!.url, path, {}, bearer(adminToken))
    expect(res.status).toBe(409)
    expect(((await res.json()) as { code: string }).code).toBe('several_instances')
  }
})

test('signed in through one instance, chatting through another: a tab on the third sees the answer live, and every instance serves the stored chat', async () => {
  adaToken = await signInRemote(cluster.instances[0]!.url, MARKERS.email)
  const talker = await socketOn(cluster.instances[1]!.url, adaToken)
  const watcher = await socketOn(cluster.instances[2]!.url, adaToken)
  talker.send({ type: 'chat:send', model: FAKE_MODEL, content: `${MARKERS.question} short please` })
  const started = await watcher.nextFrame(ofType('chat:started'), 10_000)
  await watcher.nextFrame(ofType('chat:delta', started.messageId), 10_000)
  talker.send({ type: 'chat:cancel', messageId: started.messageId })
  expect((await watcher.nextFrame(ofType('chat:done', started.messageId), 10_000)).cancelled).toBe(true)
  for (const instance of cluster.instances) {
    const res = await fetch(`${instance.url}/api/v1/chats/${started.chatId}`, { headers: bearer(adaToken) })
    expect(res.status).toBe(200)
    const { chat } = (await res.json()) as ExportedChat
    expect(Object.values(chat.history.messages).some((message) => message.role === 'user' && message.content.includes(MARKERS.question))).toBe(true)
  }
}, 60_000)

test('a sign-out on one instance closes the user\'s sockets on the other two within a second', async () => {
  await signUpRemote(cluster.url, 'bob@example.com')
  const bobToken = await signInRemote(cluster.instances[0]!.url, 'bob@example.com')
  const there = [await socketOn(cluster.instances[1]!.url, bobToken), await socketOn(cluster.instances[2]!.url, bobToken)]
  expect((await postJson(cluster.instances[0]!.url, '/api/v1/auths/signout', {}, bearer(bobToken))).status).toBe(200)
  for (const socket of there) {
    const closed = await Promise.race([socket.closed, Bun.sleep(WITHIN_A_SECOND_MS).then(() => null)])
    expect(closed?.code).toBe(4401)
  }
  for (const instance of cluster.instances) expect((await fetch(`${instance.url}/api/v1/auths/`, { headers: bearer(bobToken) })).status).toBe(401)
}, 60_000)

test('the sign-in limit holds across instances: of 20 attempts from one address spread over three, exactly 10 reach the password check', async () => {
  // note: the instances trust X-Forwarded-For from 127.0.0.1 (as from nginx), so the attempts come from one documentation address.
  const from = { 'x-forwarded-for': '198.51.100.23' }
  const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    postJson(cluster.instances[i % 3]!.url, '/api/v1/auths/signin', { email: 'cy@example.com', password: 'wrong password 123' }, from).then((res) => res.status)))
  expect(statuses.filter((status) => status === 400)).toHaveLength(10)
  expect(statuses.filter((status) => status === 429)).toHaveLength(10)
}, 60_000)

test('kill -9 of the instance talking to Ollama mid-answer: the client reconnects through nginx, the chat shows the answer up to its last checkpoint, nothing committed is lost', async () => {
  const before = await exportChats(adaToken)
  const talker = await socketOn(cluster.instances[0]!.url, adaToken)
  const watcher = await socketOn(cluster.instances[1]!.url, adaToken)
  talker.send({ type: 'chat:send', model: FAKE_MODEL, content: 'a long story, then the crash' })
  const started = await watcher.nextFrame(ofType('chat:started'), 10_000)
  // note: checkpoints are saved every second; wait for two, so one is surely committed.
  await Bun.sleep(2_500)
  await cluster.killInstance(0)
  expect((await talker.closed).code).not.toBe(1000)
  const seen = watcher.frames.filter(ofType('chat:delta', started.messageId)).map((frame) => frame.content as string).join('')

  const again = await socketOn(cluster.wsUrl, adaToken)
  const res = await fetch(`${cluster.url}/api/v1/chats/${started.chatId}`, { headers: bearer(adaToken) })
  expect(res.status).toBe(200)
  const messages = Object.values(((await res.json()) as ExportedChat).chat.history.messages)
  expect(messages.some((message) => message.role === 'user' && message.content === 'a long story, then the crash')).toBe(true)
  const answer = messages.find((message) => message.role === 'assistant')
  expect(answer?.content.length ?? 0).toBeGreaterThan(0)
  // note: the watcher's frames and the checkpoint are both prefixes of one answer; either may be ahead by the last moment's deltas.
  expect(seen.startsWith(answer!.content) || answer!.content.startsWith(seen)).toBe(true)

  again.send({ type: 'chat:send', model: FAKE_MODEL, content: 'after the crash' })
  const next = await again.nextFrame(ofType('chat:started'), 10_000)
  again.send({ type: 'chat:cancel', messageId: next.messageId })
  await again.nextFrame(ofType('chat:done', next.messageId), 10_000)

  const after = await exportChats(adaToken)
  for (const chat of before) expect(after.find((each) => each.id === chat.id)).toEqual(chat)
  await cluster.restartInstance(0)
  await until(async () => (await fetch(`${cluster.instances[0]!.url}/health/ready`)).status === 200, 'the instance back')
}, 60_000)

test('Redis and PostgreSQL restarted under load: clear 503s during the outage, full service after, no chat lost or changed', async () => {
  const before = await exportChats(adaToken)
  const outcomes: { status: number; code: string | null; id: string | null }[] = []
  let loading = true
  const load = (async () => {
    for (let n = 0; loading && n < 2_000; n++) {
      const res = await postJson(cluster.url, '/api/v1/chats/new', { chat: { title: `${MARKERS.load} ${n}`, messages: [] } }, bearer(adaToken)).catch(() => null)
      const body = res === null ? null : ((await res.json().catch(() => null)) as { id?: string; code?: string } | null)
      outcomes.push({ status: res?.status ?? 0, code: body?.code ?? null, id: body?.id ?? null })
      await Bun.sleep(25)
    }
  })()
  const served = () => outcomes.filter((outcome) => outcome.status === 200).length
  await until(() => served() >= 5, 'load under way')

  await cluster.restartRedis(async () => {
    for (const instance of cluster.instances) await until(async () => (await fetch(`${instance.url}/health/ready`)).status === 503, 'Redis missed')
    const during = served()
    await until(() => served() >= during + 5, 'service while Redis is down')
  })
  for (const instance of cluster.instances) await until(async () => (await fetch(`${instance.url}/health/ready`)).status === 200, 'Redis back')

  await cluster.restartPostgres(async () => {
    await until(() => outcomes.at(-1)?.status === 503, 'a 503 while PostgreSQL is down')
    for (const instance of cluster.instances) {
      const ready = await fetch(`${instance.url}/health/ready`)
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { reason: string }).reason).toBe('database_unavailable')
      // note: /health stays 200 (the process lives and recovers by itself) and says what is down.
      await until(async () => ((await (await fetch(`${instance.url}/health`)).json()) as { database?: string }).database === 'down', '/health reporting the database down')
    }
  })
  await until(() => outcomes.at(-1)?.status === 200, 'service after PostgreSQL is back')
  const after = served()
  await until(() => served() >= after + 5, 'full service after')
  loading = false
  await load

  expect(outcomes.every((outcome) => outcome.status === 200 || (outcome.status === 503 && outcome.code === 'database_unavailable'))).toBe(true)
  expect(outcomes.some((outcome) => outcome.status === 503)).toBe(true)
  const stored = await exportChats(adaToken)
  for (const chat of before) expect(stored.find((each) => each.id === chat.id)).toEqual(chat)
  for (const created of outcomes.filter((outcome) => outcome.status === 200)) expect(stored.some((chat) => chat.id === created.id)).toBe(true)
  for (const instance of cluster.instances) {
    expect((await fetch(`${instance.url}/health/ready`)).status).toBe(200)
    await until(async () => ((await (await fetch(`${instance.url}/health`)).json()) as { database?: string }).database === 'up', '/health reporting the database up')
    expect(await (await fetch(`${instance.url}/health`)).json()).toEqual({ status: true, database: 'up', redis: 'up', websocketRedis: 'up' })
  }
}, 60_000)

test('PostgreSQL\'s data directory and a Redis SAVE dump hold none of the plaintext markers', async () => {
  const markers = [...Object.values(MARKERS), PASSWORD].map((marker) => Buffer.from(marker))
  const files: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else files.push(path)
    }
  }
  walk(join(cluster.postgres!.dir, 'data'))
  expect(files.length).toBeGreaterThan(100)
  for (const file of files) {
    const bytes = readFileSync(file)
    for (const marker of markers) if (bytes.includes(marker)) throw new Error(`${file} holds ${marker.toString()}`)
  }
  const dump = await cluster.redis.dump()
  for (const marker of markers) expect(dump.includes(marker)).toBe(false)
}, 60_000)
