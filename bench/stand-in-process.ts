/**
 * Helper process for bench/socket-streaming.ts: the Ollama stand-in (test/fakes/ollama.ts) in a
 * process of its own, as Ollama would be, so its work is not counted against Enclave. Prints its URL,
 * then takes behaviour changes over IPC and answers each with `ok`.
 * Usage: bun bench/stand-in-process.ts BEHAVIOUR_JSON
 */
import { startFakeOllama, type FakeBehaviour } from '../test/fakes/ollama.ts'

const fake = await startFakeOllama({ behaviour: JSON.parse(process.argv[2] ?? '{}') as Partial<FakeBehaviour> })
process.on('message', (change: Partial<FakeBehaviour>) => {
  fake.setBehaviour(change)
  process.send?.('ok')
})
console.log(fake.url)
