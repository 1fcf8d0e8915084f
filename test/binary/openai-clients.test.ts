/**
 * The official `openai` npm client against the compiled binary, through every base URL a user
 * would try (/api, /api/v1, /ollama/v1): models, a completion, a stream, embeddings, a tool-call
 * round trip and JSON mode; and the official `ollama` client at /ollama. One binary for the file.
 */
import { describe, expect, test } from 'bun:test'
import { Ollama } from 'ollama'
import OpenAI from 'openai'
import { binaryWithAdmin } from '../helpers/binary-clients.ts'

const binary = binaryWithAdmin()
const MODEL = 'qwen2.5:0.5b'
const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather', description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}

const openAiAt = (path: string, apiKey = binary.token) => new OpenAI({ baseURL: binary.url + path, apiKey, maxRetries: 0 })

describe.each(['/api', '/api/v1', '/ollama/v1'])('openai at %s', (path) => {
  test('models.list() names the models', async () => {
    const ids: string[] = []
    for await (const model of openAiAt(path).models.list()) ids.push(model.id)
    expect(ids).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])
  })

  test('a completion and a stream answer the question', async () => {
    const client = openAiAt(path)
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello there' }] })
    expect(completion.choices[0]!.message.content).toBe('hello there')
    expect(completion.choices[0]!.finish_reason).toBe('stop')
    const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'one two three' }] })
    let text = ''
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ''
    expect(text).toBe('one two three')
  })

  test('embeddings come back as vectors, one per input', async () => {
    const answer = await openAiAt(path).embeddings.create({ model: MODEL, input: ['first text', 'second text'] })
    expect(answer.data.map((item) => item.index)).toEqual([0, 1])
    expect(answer.data[0]!.embedding).toHaveLength(8)
    expect(Math.hypot(...answer.data[0]!.embedding)).toBeCloseTo(1, 4)
    expect(answer.data[0]!.embedding).not.toEqual(answer.data[1]!.embedding)
  })

  test('a tool call round trip: the call, then the answer to its result', async () => {
    const client = openAiAt(path)
    const question = { role: 'user' as const, content: 'Paris' }
    const first = await client.chat.completions.create({ model: MODEL, messages: [question], tools: [WEATHER_TOOL] })
    expect(first.choices[0]!.finish_reason).toBe('tool_calls')
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall
    expect(call.type).toBe('function')
    expect(call.function.name).toBe('get_weather')
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    const second = await client.chat.completions.create({
      model: MODEL, tools: [WEATHER_TOOL],
      messages: [question, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 °C' }],
    })
    expect(second.choices[0]!.message.content).toBe('The tool said: sunny, 21 °C')
  })

  test('a streamed tool call arrives as tool_calls deltas', async () => {
    const stream = await openAiAt(path).chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'Oslo' }], tools: [WEATHER_TOOL] })
    const calls: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = []
    let finish: string | null = null
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(finish).toBe('tool_calls')
    expect(calls.map((call) => [call.index, call.function?.name, call.function?.arguments])).toEqual([[0, 'get_weather', '{"city":"Oslo"}']])
  })

  test('JSON mode answers JSON', async () => {
    const completion = await openAiAt(path).chat.completions.create({ model: MODEL, response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'answer in JSON' }] })
    expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ answer: 'answer in JSON' })
  })

  test.each<[string, () => Promise<unknown>, number]>([
    ['a wrong key', () => openAiAt(path, 'sk-wrong').chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }), 401],
    ['an unknown model', () => openAiAt(path).chat.completions.create({ model: 'nope:1b', messages: [{ role: 'user', content: 'x' }] }), 404],
  ])('%s is an APIError with its status and an OpenAI-shaped message', async (_, call, status) => {
    const error = await call().then(() => null, (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error!.status).toBe(status)
    expect(typeof (error!.error as { message?: unknown }).message).toBe('string')
  })
})

describe('ollama at /ollama', () => {
  const client = () => new Ollama({ host: `${binary.url}/ollama`, headers: { authorization: `Bearer ${binary.token}` } })

  test('list, chat, a stream, embed and a tool call', async () => {
    const ollama = client()
    expect((await ollama.list()).models.map((model) => model.name)).toEqual(['qwen2.5:0.5b', 'llama3.2:1b'])
    expect((await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi you' }] })).message.content).toBe('hi you')
    let text = ''
    for await (const part of await ollama.chat({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'a b c' }] })) text += part.message.content
    expect(text).toBe('a b c')
    const embedded = await ollama.embed({ model: MODEL, input: ['x', 'y'] })
    expect(embedded.embeddings).toHaveLength(2)
    const called = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'Rome' }], tools: [WEATHER_TOOL] })
    expect(called.message.tool_calls).toEqual([{ function: { name: 'get_weather', arguments: { city: 'Rome' } } }])
    const json = await ollama.chat({ model: MODEL, format: 'json', messages: [{ role: 'user', content: 'q' }] })
    expect(JSON.parse(json.message.content)).toEqual({ answer: 'q' })
  })

  test('GET /ollama/ says Ollama is running', async () => {
    const res = await fetch(`${binary.url}/ollama/`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('Ollama is running')
  })
})
