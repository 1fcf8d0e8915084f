/**
 * The frameworks people build on, against the compiled binary: LangChain (`@langchain/openai` at
 * /api/v1 and /ollama/v1, `@langchain/ollama` at /ollama) with invoke, stream, embeddings and
 * bindTools; the AI SDK (`@ai-sdk/openai-compatible` at /api and /ollama/v1, `ollama-ai-provider-v2`
 * at /ollama/api) with generateText, streamText, tools and embeddings. One binary for the file.
 */
import { describe, expect, test } from 'bun:test'
import { createOpenAICompatible } from '@ai-sdk/openai-compatible'
import { ChatOllama, OllamaEmbeddings } from '@langchain/ollama'
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai'
import { embedMany, generateText, jsonSchema, streamText, tool, type EmbeddingModel, type LanguageModel } from 'ai'
import { createOllama } from 'ollama-ai-provider-v2'
import { binaryWithAdmin } from '../helpers/binary-clients.ts'

const binary = binaryWithAdmin()
const MODEL = 'qwen2.5:0.5b'
const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } as const

type LangChainClients = { chat: () => ChatOpenAI | ChatOllama; embeddings: () => OpenAIEmbeddings | OllamaEmbeddings }
const langChainAt: [string, () => LangChainClients][] = [
  ['@langchain/openai at /api/v1', () => ({
    chat: () => new ChatOpenAI({ model: MODEL, apiKey: binary.token, configuration: { baseURL: `${binary.url}/api/v1` }, maxRetries: 0 }),
    embeddings: () => new OpenAIEmbeddings({ model: MODEL, apiKey: binary.token, configuration: { baseURL: `${binary.url}/api/v1` }, maxRetries: 0 }),
  })],
  ['@langchain/openai at /ollama/v1', () => ({
    chat: () => new ChatOpenAI({ model: MODEL, apiKey: binary.token, configuration: { baseURL: `${binary.url}/ollama/v1` }, maxRetries: 0 }),
    embeddings: () => new OpenAIEmbeddings({ model: MODEL, apiKey: binary.token, configuration: { baseURL: `${binary.url}/ollama/v1` }, maxRetries: 0 }),
  })],
  ['@langchain/ollama at /ollama', () => ({
    chat: () => new ChatOllama({ model: MODEL, baseUrl: `${binary.url}/ollama`, headers: { authorization: `Bearer ${binary.token}` } }),
    embeddings: () => new OllamaEmbeddings({ model: MODEL, baseUrl: `${binary.url}/ollama`, headers: { authorization: `Bearer ${binary.token}` } }),
  })],
]

describe.each(langChainAt)('%s', (_, clients) => {
  test('invoke and stream answer the question', async () => {
    const { chat } = clients()
    expect((await chat().invoke('hello langchain')).content).toBe('hello langchain')
    let text = ''
    for await (const chunk of await chat().stream('one two three')) text += String(chunk.content)
    expect(text).toBe('one two three')
  })

  test('embeddings: one vector per document, and one for a query', async () => {
    const { embeddings } = clients()
    const vectors = await embeddings().embedDocuments(['first', 'second'])
    expect(vectors.map((vector) => vector.length)).toEqual([8, 8])
    expect(await embeddings().embedQuery('first')).toEqual(vectors[0]!)
  })

  test('bindTools: the model asks for the tool with its arguments', async () => {
    const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_SCHEMA } }
    const answer = await clients().chat().bindTools([weather]).invoke('Paris')
    expect(answer.tool_calls?.map((call) => [call.name, call.args])).toEqual([['get_weather', { city: 'Paris' }]])
  })
})

const aiSdkAt: [string, () => { model: LanguageModel; embedder: EmbeddingModel }][] = [
  ['@ai-sdk/openai-compatible at /api', () => {
    const provider = createOpenAICompatible({ name: 'enclave', baseURL: `${binary.url}/api`, apiKey: binary.token })
    return { model: provider.chatModel(MODEL), embedder: provider.textEmbeddingModel(MODEL) }
  }],
  ['@ai-sdk/openai-compatible at /ollama/v1', () => {
    const provider = createOpenAICompatible({ name: 'enclave', baseURL: `${binary.url}/ollama/v1`, apiKey: binary.token })
    return { model: provider.chatModel(MODEL), embedder: provider.textEmbeddingModel(MODEL) }
  }],
  ['ollama-ai-provider-v2 at /ollama/api', () => {
    const provider = createOllama({ baseURL: `${binary.url}/ollama/api`, headers: { authorization: `Bearer ${binary.token}` } })
    return { model: provider(MODEL), embedder: provider.textEmbeddingModel(MODEL) }
  }],
]

describe.each(aiSdkAt)('AI SDK, %s', (_, make) => {
  test('generateText and streamText answer the prompt', async () => {
    const { model } = make()
    expect((await generateText({ model, prompt: 'hello sdk' })).text).toBe('hello sdk')
    const streamed = streamText({ model, prompt: 'four five six' })
    let text = ''
    for await (const part of streamed.textStream) text += part
    expect(text).toBe('four five six')
  })

  test('a tool is called with its arguments and its result reaches the answer', async () => {
    const { model } = make()
    const seen: unknown[] = []
    const weather = tool({
      description: 'The weather in a city',
      inputSchema: jsonSchema<{ city: string }>(WEATHER_SCHEMA),
      execute: async (input) => {
        seen.push(input)
        return 'sunny'
      },
    })
    const result = await generateText({ model, prompt: 'Lisbon', tools: { get_weather: weather }, stopWhen: ({ steps }) => steps.length >= 2 })
    expect(seen).toEqual([{ city: 'Lisbon' }])
    expect(result.text).toBe('The tool said: sunny')
  })

  test('embedMany: one vector per value', async () => {
    const { embeddings } = await embedMany({ model: make().embedder, values: ['a', 'b'] })
    expect(embeddings.map((vector) => vector.length)).toEqual([8, 8])
  })
})
