/**
 * Images for vision models, against the compiled binary: an uploaded image attached to a socket
 * chat:send, or named in an OpenAI image_url part, reaches the Ollama stand-in as base64 in
 * `images`, byte for byte; the stored message references its file; a model without "vision" is
 * refused by Enclave with a clear error and Ollama is never asked to answer; another user's file id,
 * a remote image URL and an oversized data URL are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { defaultFakeModels, visionFakeModel } from '../fakes/ollama-replies.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, PASSWORD } from '../helpers/accounts.ts'
import { countStoredRows, startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { makePng } from '../helpers/sample-files.ts'
import { connect, ofType } from '../helpers/ws.ts'

const tempDir = tempDirsRemovedAfterAll()
let fake: FakeOllama
let server: RunningBinary
let cwd: string
let ada: { id: string; token: string }
let bob: { id: string; token: string }

async function call(method: string, path: string, token: string | null, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method, headers: { 'content-type': 'application/json', ...(token === null ? {} : bearer(token)) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

async function signUp(email: string) {
  const res = await call('POST', '/api/v1/auths/signup', null, { name: email.split('@')[0], email, password: PASSWORD })
  expect(res.status).toBe(200)
  return await res.json() as { id: string; token: string }
}

async function uploadImage(token: string, bytes: Uint8Array, name = 'photo.png'): Promise<string> {
  const form = new FormData()
  form.append('file', new File([Buffer.from(bytes)], name))
  const res = await fetch(`${server.url}/api/v1/files/`, { method: 'POST', headers: bearer(token), body: form })
  expect(res.status).toBe(200)
  return (await res.json() as { id: string }).id
}

const chatRequests = () => fake.requests.filter((request) => request.path === '/api/chat')

beforeAll(async () => {
  fake = await startFakeOllama({ models: [...defaultFakeModels, visionFakeModel] })
  cwd = tempDir()
  server = await startBinary({ cwd, env: { OLLAMA_BASE_URL: fake.url } })
  ada = await signUp('ada@example.com')
  bob = await signUp('bob@example.com')
  expect((await call('POST', `/api/v1/users/${bob.id}/update`, ada.token, { role: 'user' })).status).toBe(200)
})

afterAll(async () => {
  await server?.stop()
  await fake?.stop()
})

const wsUrl = () => `${server.url.replace('http', 'ws')}/api/ws`

describe('on the chat socket', () => {
  test('an attached image reaches Ollama as base64 in images, byte for byte, and the message references its file', async () => {
    const png = makePng(24, 24, 7)
    const fileId = await uploadImage(bob.token, png)
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      socket.send({ type: 'chat:send', model: visionFakeModel.name, content: 'What is in this picture?', files: [fileId] })
      const started = await socket.nextFrame(ofType('chat:started'), 5_000)
      await socket.nextFrame(ofType('chat:done'), 5_000)
      const sent = chatRequests().at(-1)!.body as { messages: { role: string; content: string; images?: string[] }[] }
      const question = sent.messages.at(-1)!
      expect(question.content).toBe('What is in this picture?')
      expect(question.images).toHaveLength(1)
      expect(Buffer.from(question.images![0]!, 'base64').equals(png)).toBe(true)
      const chat = await (await call('GET', `/api/v1/chats/${started.chatId}`, bob.token)).json() as { chat: { messages: { role: string; files?: { id: string; type: string; url: string }[] }[] } }
      const stored = chat.chat.messages.find((message) => message.role === 'user')!
      expect(stored.files).toEqual([expect.objectContaining({ id: fileId, type: 'image', url: `/api/v1/files/${fileId}/content` })])
      // the chat is recorded as a user of the file; deleting the chat leaves the file
      expect(countStoredRows(cwd, 'file_use', "kind = 'chat' AND ref_id = ?", String(started.chatId))).toBe(1)
      expect((await call('DELETE', `/api/v1/chats/${started.chatId}`, bob.token)).status).toBe(200)
      expect((await call('GET', `/api/v1/files/${fileId}`, bob.token)).status).toBe(200)
    } finally {
      await socket.close()
    }
  })

  test('a model without vision is refused by Enclave; Ollama is not asked to answer', async () => {
    const fileId = await uploadImage(bob.token, makePng(4, 4, 2))
    const before = chatRequests().length
    const socket = await connect(wsUrl(), { token: bob.token })
    try {
      socket.send({ type: 'chat:send', model: 'qwen2.5:0.5b', content: 'Describe it', files: [fileId] })
      const error = await socket.nextFrame(ofType('error'), 5_000)
      expect(error).toMatchObject({ code: 'model_without_vision' })
      expect(String(error.message)).toContain('cannot read images')
      expect(chatRequests().length).toBe(before)
    } finally {
      await socket.close()
    }
  })

  test('another user\'s file id (the admin\'s look too) is file_not_found', async () => {
    const bobsFile = await uploadImage(bob.token, makePng(4, 4, 3))
    const socket = await connect(wsUrl(), { token: ada.token })
    try {
      socket.send({ type: 'chat:send', model: visionFakeModel.name, content: 'Whose is this?', files: [bobsFile] })
      expect(await socket.nextFrame(ofType('error'), 5_000)).toMatchObject({ code: 'file_not_found' })
      socket.send({ type: 'chat:send', model: visionFakeModel.name, content: 'And this?', files: ['../../etc/passwd'] })
      expect(await socket.nextFrame(ofType('error'), 5_000)).toMatchObject({ code: 'file_not_found' })
    } finally {
      await socket.close()
    }
  })
})

describe('on /api/chat/completions', () => {
  const ask = (token: string, model: string, url: string) =>
    call('POST', '/api/chat/completions', token, { model, stream: false, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url } }] }] })

  test('a data: URL image and an uploaded image reach Ollama byte for byte', async () => {
    const inline = makePng(8, 8, 11)
    const res = await ask(bob.token, visionFakeModel.name, `data:image/png;base64,${inline.toString('base64')}`)
    expect(res.status).toBe(200)
    expect(Buffer.from((chatRequests().at(-1)!.body as { messages: { images: string[] }[] }).messages[0]!.images[0]!, 'base64').equals(inline)).toBe(true)
    const uploaded = makePng(8, 8, 12)
    const fileId = await uploadImage(bob.token, uploaded)
    for (const url of [`/api/v1/files/${fileId}/content`, fileId]) {
      expect((await ask(bob.token, visionFakeModel.name, url)).status).toBe(200)
      expect(Buffer.from((chatRequests().at(-1)!.body as { messages: { images: string[] }[] }).messages[0]!.images[0]!, 'base64').equals(uploaded)).toBe(true)
    }
  })

  test.each([
    ['a remote URL (never fetched)', 'https://example.com/cat.png', 400, 'invalid_image'],
    ['a link-local URL (never fetched)', 'http://169.254.169.254/latest/meta-data', 400, 'invalid_image'],
    ['a file: URL', 'file:///etc/passwd', 400, 'invalid_image'],
    ['an unknown file', `/api/v1/files/${crypto.randomUUID()}/content`, 404, 'file_not_found'],
  ])('refused: %s', async (_, url, status, code) => {
    const before = chatRequests().length
    const res = await ask(bob.token, visionFakeModel.name, url)
    expect(res.status).toBe(status)
    expect((await res.json() as { error: { code: string } }).error.code).toBe(code)
    expect(chatRequests().length).toBe(before)
  })

  test('another user\'s uploaded image is 404; a non-vision model is refused clearly', async () => {
    const bobsFile = await uploadImage(bob.token, makePng(4, 4, 5))
    expect((await ask(ada.token, visionFakeModel.name, bobsFile)).status).toBe(404)
    const before = chatRequests().length
    const res = await ask(bob.token, 'qwen2.5:0.5b', `data:image/png;base64,${makePng(4, 4, 6).toString('base64')}`)
    expect(res.status).toBe(400)
    const body = await res.json() as { error: { code: string; message: string } }
    expect(body.error.code).toBe('model_without_vision')
    expect(body.error.message).toContain('cannot read images')
    expect(chatRequests().length).toBe(before)
  })
})

describe('with model access control on', () => {
  test('an image to a model the user may not use is model_not_found on the socket and on /api/chat/completions; Ollama is not asked', async () => {
    const guarded = await startBinary({ cwd: tempDir(), env: { OLLAMA_BASE_URL: fake.url, BYPASS_MODEL_ACCESS_CONTROL: 'false' } })
    try {
      const post = (path: string, token: string | null, body: unknown) =>
        fetch(`${guarded.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === null ? {} : bearer(token)) }, body: JSON.stringify(body) })
      const admin = await (await post('/api/v1/auths/signup', null, { name: 'grace', email: 'grace@example.com', password: PASSWORD })).json() as { id: string; token: string }
      const user = await (await post('/api/v1/auths/signup', null, { name: 'linus', email: 'linus@example.com', password: PASSWORD })).json() as { id: string; token: string }
      expect((await post(`/api/v1/users/${user.id}/update`, admin.token, { role: 'user' })).status).toBe(200)
      const png = makePng(4, 4, 5)
      const form = new FormData()
      form.append('file', new File([Buffer.from(png)], 'photo.png'))
      const uploaded = await fetch(`${guarded.url}/api/v1/files/`, { method: 'POST', headers: bearer(user.token), body: form })
      expect(uploaded.status).toBe(200)
      const fileId = (await uploaded.json() as { id: string }).id
      const before = chatRequests().length
      const socket = await connect(`${guarded.url.replace('http', 'ws')}/api/ws`, { token: user.token })
      try {
        socket.send({ type: 'chat:send', model: visionFakeModel.name, content: 'What is in this picture?', files: [fileId] })
        expect(await socket.nextFrame(ofType('error'), 5_000)).toMatchObject({ code: 'model_not_found' })
      } finally {
        await socket.close()
      }
      const url = `data:image/png;base64,${Buffer.from(png).toString('base64')}`
      const asked = await post('/api/chat/completions', user.token, { model: visionFakeModel.name, stream: false, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url } }] }] })
      expect(asked.status).toBe(404)
      expect(chatRequests().length).toBe(before)
    } finally {
      await guarded.stop()
    }
  })
})
