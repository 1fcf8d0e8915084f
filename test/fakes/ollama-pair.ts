/**
 * Two Ollama stand-ins that share a model, and the URL of a third that has been stopped: the
 * fixture for tests of several connections, failover and a connection that is down.
 */
import { afterAll, beforeAll } from 'bun:test'
import { startFakeOllama, type FakeModel, type FakeOllama } from './ollama.ts'
import { defaultFakeModels } from './ollama-replies.ts'

export const [qwen, llama] = defaultFakeModels as [FakeModel, FakeModel]
export const mistral: FakeModel = { ...llama, name: 'mistral:7b', model: 'mistral:7b', digest: 'f'.repeat(64) }

export type OllamaPair = { first: FakeOllama; second: FakeOllama; downUrl: string }

/** Starts the pair before the file's tests and stops it after; read the fields inside tests. */
export function useOllamaPair(): OllamaPair {
  const pair = {} as OllamaPair
  beforeAll(async () => {
    pair.first = await startFakeOllama({ models: [qwen, llama], version: '0.12.6' })
    pair.second = await startFakeOllama({ models: [llama, mistral], version: '0.13.0' })
    const down = await startFakeOllama()
    pair.downUrl = down.url
    await down.stop()
  })
  afterAll(async () => {
    await pair.first.stop()
    await pair.second.stop()
  })
  return pair
}
