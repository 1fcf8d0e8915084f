/**
 * A whole-chat save whose body has a declared length is read against the held chat
 * (open-webui-chat-scan.ts); one sent chunked is parsed whole by Elysia, as before. Each body here,
 * hostile ones included, must get the same answer and leave the same chat either way.
 */
import { describe, expect, test } from 'bun:test'
import { bearer, signUp, startClockedApp } from '../helpers/accounts.ts'
import { req } from '../helpers/test-app.ts'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { MAX_JSON_NESTING } from '../../src/db/json-nesting.ts'

const CHATS = '/api/v1/chats'

type Sent = string | Uint8Array

/** The same body sent with its length declared (read against the held chat) and chunked (parsed whole). */
const declared = (path: string, body: Sent, headers: Record<string, string>) =>
  req('POST', path, body, { ...headers, 'content-type': 'application/json', 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length) })
const chunked = (path: string, body: Sent, headers: Record<string, string>) => req('POST', path, body, { ...headers, 'content-type': 'application/json' })

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)
const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'))

/** Edits of the body as the page would send it back: each a case that must read alike both ways. */
const VARIANTS: [string, (body: string) => Sent][] = [
  ['unchanged', (body) => body],
  ['one message edited', (body) => body.replaceAll('"content":"Where should I eat?"', '"content":"Where should we eat?"')],
  ['whitespace between tokens', (body) => body.replaceAll(',"', ',\n  "').replaceAll('":', '" : ')],
  ['a message id twice', (body) => body.replace('"history":{"messages":{', '"history":{"messages":{"q1":{"id":"q1","parentId":null,"role":"user","content":"first"},')],
  ['a held id with other bytes and another parent', (body) => body.replace('"parentId":"q1"', '"parentId":null')],
  ['keys of a message in another order', (body) => body.replace('"role":"user","content":"Where should I eat?"', '"content":"Where should I eat?","role":"user"')],
  ['an unknown field on a message', (body) => body.replace('"role":"assistant"', '"mood":"sunny","role":"assistant"')],
  ['an escaped key', (body) => body.replace('"history":{"messages":{"q1"', '"history":{"messages":{"\\u00711"')],
  ['an escaped, equal content', (body) => body.replace('"content":"Where should I eat?"', '"content":"\\u0057here should I eat?"')],
  ['invalid UTF-8 in a content', (body) => latin1(Buffer.from(body).toString('latin1').replace('"content":"Where', '"content":"\xff\xc3Where'))],
  ['invalid UTF-8 in an unchanged place', (body) => latin1(Buffer.from(body).toString('latin1').replace('"title":"Trip"', '"title":"Trip\xfe"'))],
  // note: a message stands within five levels (body, chat, history, messages, the message): these are at, and one past, MAX_JSON_NESTING.
  ['nesting at the limit in a message', (body) => body.replace('"role":"assistant"', `"deep":${nested(MAX_JSON_NESTING - 5)},"role":"assistant"`)],
  ['nesting one level past the limit in a message', (body) => body.replace('"role":"assistant"', `"deep":${nested(MAX_JSON_NESTING - 4)},"role":"assistant"`)],
  ['deep nesting in a message', (body) => body.replace('"role":"assistant"', `"deep":${'['.repeat(20_000)}${']'.repeat(20_000)},"role":"assistant"`)],
  ['deeper nesting than JSON.parse takes', (body) => body.replace('"role":"assistant"', `"deep":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)},"role":"assistant"`)],
  ['a huge content', (body) => body.replace('"content":"Where should I eat?"', `"content":"${'x'.repeat(1_100_000)}"`)],
  ['a title twice', (body) => body.replace('"title":"Trip"', '"title":"Trip","title":"Other"')],
  ['a title too long', (body) => body.replace('"title":"Trip"', `"title":"${'t'.repeat(1001)}"`)],
  ['cut short', (body) => body.slice(0, body.length - 7)],
  ['a trailing comma', (body) => body.replace(/}}$/, ',}}')],
  ['a message left out', (body) => body.replace(/"a1":\{[^}]*\},|,"a1":\{[^}]*\}(?=\})/, '')],
  ['a message added', (body) => body.replace('"history":{"messages":{', '"history":{"messages":{"n1":{"id":"n1","parentId":"a1","role":"user","content":"new"},')],
  ['currentId elsewhere', (body) => body.replace(/"currentId":"[^"]*"/, '"currentId":"a1"')],
  ['currentId unknown', (body) => body.replace(/"currentId":"[^"]*"/, '"currentId":"nobody"')],
  ['folder_id given', (body) => body.replace('{"chat":', '{"folder_id":null,"chat":')],
  ['folder_id too long', (body) => body.replace('{"chat":', `{"folder_id":"${'f'.repeat(129)}","chat":`)],
  ['folder_id a number', (body) => body.replace('{"chat":', '{"folder_id":5,"chat":')],
  ['folder_id not one of the caller\'s', (body) => body.replace('{"chat":', '{"folder_id":"0b7c5d2e-4f1a-4c3b-9e8d-7a6b5c4d3e2f","chat":')],
  ['another top-level field', (body) => body.replace('{"chat":', '{"other":1,"chat":')],
  ['chat twice', (body) => body.replace('{"chat":', '{"chat":{},"chat":')],
  ['chat a string', () => '{"chat":"no"}'],
  ['a list', () => '[]'],
  ['empty', () => ''],
]

describe('a save read against the held chat answers as the full read does', async () => {
  const { app, deps } = startClockedApp()
  const account = await signUp(app, 'ada@example.com')
  const ada = bearer(account.token)
  const history = {
    q1: { id: 'q1', parentId: null, childrenIds: ['a1', 'a2'], role: 'user', content: 'Where should I eat?', timestamp: 1_700_000_000 },
    a1: { id: 'a1', parentId: 'q1', childrenIds: [], role: 'assistant', content: 'Try the pastéis.', model: 'llama3', done: true, timestamp: 1_700_000_001 },
    a2: { id: 'a2', parentId: 'q1', childrenIds: [], role: 'assistant', content: 'Anywhere "nice" 😀\n', model: 'llama3', done: true, timestamp: 1_700_000_002, x: [1] },
  }
  const base = { title: 'Trip', models: ['llama3'], history: { messages: history, currentId: 'a2' }, messages: [history.q1, history.a2] }
  const create = async () => ((await (await app.handle(req('POST', `${CHATS}/new`, { chat: base }, ada))).json()) as { id: string }).id
  // note: two chats alike, one saved each way, so each case starts both from the same state.
  const [id, twinId] = [await create(), await create()]
  const path = `${CHATS}/${id}`
  const twin = `${CHATS}/${twinId}`

  /** Puts the chat back as it was, opens it (so it is held, its answer's bytes known) and returns the page's body for a save. */
  const reset = async (path = `${CHATS}/${id}`) => {
    expect((await app.handle(chunked(path, JSON.stringify({ chat: base }), ada))).status).toBe(200)
    const opened = (await (await app.handle(req('GET', path, undefined, ada))).json()) as { chat: unknown }
    return JSON.stringify({ chat: opened.chat })
  }
  const outcome = async (request: Request, at = path) => {
    const res = await app.handle(request)
    const text = await res.text()
    const after = await (await app.handle(req('GET', at, undefined, ada))).text()
    return { status: res.status, type: res.headers.get('content-type'), text, after }
  }
  const asFirst = (text: string) => text.replaceAll(twinId, id)

  test.each(VARIANTS)('%s', async (_, edit) => {
    const body = edit(await reset())
    const twinBody = edit(await reset(twin))
    const raw = (sent: Sent) => (typeof sent === 'string' ? sent : Buffer.from(sent).toString('latin1'))
    expect(asFirst(raw(twinBody))).toEqual(raw(body))
    const read = await outcome(declared(path, body, ada))
    const whole = await outcome(chunked(twin, twinBody, ada), twin)
    expect(read).toEqual({ ...whole, text: asFirst(whole.text), after: asFirst(whole.after) })
  })

  test('a save nested past MAX_JSON_NESTING is refused with 400 either way, one at the limit is saved', async () => {
    for (const [levels, status] of [[MAX_JSON_NESTING - 5, 200], [MAX_JSON_NESTING - 4, 400]] as const) {
      const body = (await reset()).replace('"role":"assistant"', `"deep":${nested(levels)},"role":"assistant"`)
      for (const request of [declared(path, body, ada), chunked(path, body, ada)]) {
        const res = await app.handle(request)
        expect([levels, res.status]).toEqual([levels, status])
        if (status === 400) expect(((await res.json()) as { code: string }).code).toBe('body_too_deep')
      }
    }
  })

  test('a save sent back as it was opened, or with one message edited, is read without parsing the rest', async () => {
    const chatId = path.slice(CHATS.length + 1) as ChatId
    const save = (body: string) => deps.store.chats.saveChatBytesForUser(account.id as UserId, chatId, Buffer.from(body), (content) => content)
    expect(await save(await reset())).toMatchObject({ ok: true, counts: { inserted: 0, rewritten: 0, removed: 0 } })
    expect(await save((await reset()).replaceAll('Where should I eat?', 'Where now?'))).toMatchObject({ ok: true, counts: { inserted: 0, rewritten: 1, removed: 0 } })
    // note: one it cannot prove the same is left to the full read, with nothing written.
    expect(await save((await reset()).replace('"history":{', '"history":{ '))).not.toBeNull()
    expect(await save((await reset()).replace('"role":"user"', '"mood":1,"role":"user"'))).toMatchObject({ ok: true, counts: { rewritten: 1 } })
    expect(await save((await reset()).replace(/"a1":\{[^}]*\},|,"a1":\{[^}]*\}(?=\})/, ''))).toMatchObject({ ok: true, counts: { rewritten: 0, removed: 1 } })
    expect(await save((await reset()).replace('"history":{"messages":{', '"history":{"messages":{"n1":{"role":"user","content":"new"},'))).toBeNull()
  })

  // note: a body of declared length was parsed by Elysia's JSON parser (Request.json), which passes over a leading byte
  // order mark; a chunked one by body-limit, which does not. The save of declared length keeps the former.
  test('a byte order mark first is passed over, as Request.json does', async () => {
    const body = await reset()
    const withMark = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(body.replace('"content":"Where should I eat?"', '"content":"Marked"'))])
    const read = await outcome(declared(path, withMark, ada))
    expect(read.status).toBe(200)
    expect(JSON.parse(read.text).chat.history.messages.q1.content).toBe('Marked')
  })

  test('an answer over 256 KB is streamed, byte for byte the answer sent whole', async () => {
    const big = JSON.stringify({ chat: { ...base, history: { ...base.history, messages: { ...history, a1: { ...history.a1, content: 'y'.repeat(300_000) } } } } })
    const res = await app.handle(declared(path, big, ada))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8')
    // note: the security headers reach a streamed answer as any other (security-headers.ts).
    const small = await app.handle(req('GET', `${CHATS}/${twinId}`, undefined, ada))
    for (const [name, value] of small.headers) if (name !== 'content-length' && name !== 'content-type') expect([name, res.headers.get(name)]).toEqual([name, value])
    const text = await res.text()
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    expect(text).toBe(await (await app.handle(req('GET', path, undefined, ada))).text())
    expect(JSON.parse(text).chat.history.messages.a1.content).toHaveLength(300_000)
  })

  test('a streamed answer over a real socket leaves the held bytes it was made of intact', async () => {
    app.listen({ hostname: '127.0.0.1', port: 0 })
    try {
      const url = `http://127.0.0.1:${app.server!.port}${path}`
      const big = JSON.stringify({ chat: { ...base, history: { ...base.history, messages: { ...history, a1: { ...history.a1, content: 'z'.repeat(400_000) } } } } })
      const first = await fetch(url, { method: 'POST', headers: { ...ada, 'content-type': 'application/json' }, body: big })
      const sent = await first.text()
      const resent = JSON.stringify({ chat: JSON.parse(sent).chat })
      for (let i = 0; i < 3; i++) {
        const again = await fetch(url, { method: 'POST', headers: { ...ada, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(resent)) }, body: resent })
        expect(again.status).toBe(200)
        expect(await again.text()).toBe(sent)
      }
      expect(await (await fetch(url, { headers: ada })).text()).toBe(sent)
    } finally {
      await app.stop(true)
    }
  })

  test('another user, no credential, and an unknown chat are refused as before', async () => {
    const bob = bearer((await signUp(app, 'bob@example.com')).token)
    const body = await reset()
    expect((await app.handle(declared(path, body, {}))).status).toBe(401)
    const other = await outcome(declared(path, body, bob))
    expect(other.status).toBe(await app.handle(chunked(path, body, bob)).then((res) => res.status))
    expect([403, 404]).toContain(other.status)
    expect((await app.handle(declared(`${CHATS}/not-a-chat`, body, ada))).status).toBe(404)
    expect((await app.handle(declared(`${CHATS}/not-a-chat`, '{"chat":5}', ada))).status).toBe(422)
  })
})
