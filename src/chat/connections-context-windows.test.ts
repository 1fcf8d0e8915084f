/**
 * A start asks the listed models' context windows (connections.learnContextWindows): only of the
 * connections in the list, one model after the other, at most EARLY_WINDOW_MODELS, quietly when
 * Ollama is down; a turn then finds the window known and asks nothing more.
 */
import { expect, test } from 'bun:test'
import { openMemoryStore } from '../db/open-store.ts'
import { createConnections, EARLY_WINDOW_MODELS } from './connections.ts'

const timeouts = { firstByteMs: 2000, idleMs: 2000 }
const OLLAMA = 'http://127.0.0.1:11999'

type Sent = { url: string; body: unknown }

/** A stand-in for fetch: an Ollama listing `models`, each with a window of 4096 tokens; records what it was sent. */
function standIn(models: string[], { isDown = false } = {}) {
  const sent: Sent[] = []
  let inFlight = 0
  let mostInFlight = 0
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    sent.push({ url, body: init.body === undefined ? null : JSON.parse(String(init.body)) })
    if (isDown) throw new TypeError('Unable to connect. Is the computer able to access the url?')
    if (url.endsWith('/api/tags')) return Response.json({ models: models.map((name) => ({ name, model: name, modified_at: '2026-01-01T00:00:00Z', size: 1, digest: name, details: {} })) })
    inFlight++
    mostInFlight = Math.max(mostInFlight, inFlight)
    await Bun.sleep(1)
    inFlight--
    return Response.json({ model_info: { 'general.architecture': 'llama', 'llama.context_length': 4096 } })
  }
  return { fetch, sent, mostInFlight: () => mostInFlight }
}

function connectionsOver(urls: string[], fetch: ReturnType<typeof standIn>['fetch']) {
  return createConnections({ urls, timeouts, settings: openMemoryStore().settings, now: Date.now, fetch })
}

test('each listed model\'s window is asked of its connection, one at a time, and a turn then finds it known', async () => {
  const ollama = standIn(['qwen2.5:0.5b', 'llama3.2:1b'])
  const connections = connectionsOver([OLLAMA], ollama.fetch)
  await connections.learnContextWindows()
  const shows = ollama.sent.filter((entry) => entry.url.endsWith('/api/show'))
  expect(shows).toEqual([{ url: `${OLLAMA}/api/show`, body: { model: 'qwen2.5:0.5b' } }, { url: `${OLLAMA}/api/show`, body: { model: 'llama3.2:1b' } }])
  expect(ollama.mostInFlight()).toBe(1)
  expect(new Set(ollama.sent.map((entry) => new URL(entry.url).origin))).toEqual(new Set([OLLAMA]))
  const [connection] = (await connections.clientFor('llama3.2:1b'))
  const before = ollama.sent.length
  expect(connections.contextWindows.windowFor(connection!.client, 'llama3.2:1b', {})).toBe(4096)
  expect(ollama.sent.length).toBe(before) // known: nothing asked again (an ask would have called fetch at once)
})

test('at most EARLY_WINDOW_MODELS models are asked, the first listed', async () => {
  const names = Array.from({ length: EARLY_WINDOW_MODELS + 5 }, (_, i) => `model-${i}:latest`)
  const ollama = standIn(names)
  await connectionsOver([OLLAMA], ollama.fetch).learnContextWindows()
  expect(ollama.sent.filter((entry) => entry.url.endsWith('/api/show')).map((entry) => (entry.body as { model: string }).model)).toEqual(names.slice(0, EARLY_WINDOW_MODELS))
})

test('with Ollama down, learning settles quietly after the one listing request, and asks nothing else', async () => {
  const ollama = standIn(['qwen2.5:0.5b'], { isDown: true })
  await connectionsOver([OLLAMA], ollama.fetch).learnContextWindows()
  expect(ollama.sent.map((entry) => entry.url)).toEqual([`${OLLAMA}/api/tags`])
})

test('a model listed by two connections is asked of the first only', async () => {
  const second = 'http://127.0.0.1:11998'
  const ollama = standIn(['qwen2.5:0.5b'])
  await connectionsOver([OLLAMA, second], ollama.fetch).learnContextWindows()
  expect(ollama.sent.filter((entry) => entry.url.endsWith('/api/show')).map((entry) => entry.url)).toEqual([`${OLLAMA}/api/show`])
})

test('a window being learnt is not asked twice when a turn wants it meanwhile', async () => {
  const ollama = standIn(['qwen2.5:0.5b'])
  const connections = connectionsOver([OLLAMA], ollama.fetch)
  const [connection] = await connections.clientFor('qwen2.5:0.5b')
  const learning = connections.contextWindows.learn(connection!.client, 'qwen2.5:0.5b')
  expect(connections.contextWindows.windowFor(connection!.client, 'qwen2.5:0.5b', {})).toBeNull()
  await learning
  expect(ollama.sent.filter((entry) => entry.url.endsWith('/api/show'))).toHaveLength(1)
  expect(connections.contextWindows.windowFor(connection!.client, 'qwen2.5:0.5b', {})).toBe(4096)
})
