/**
 * `Range` on GET /api/v1/files/{id}/content against the compiled binary: one byte range is served
 * as 206 with Content-Range, from the encrypted chunk it starts in (within a chunk, across chunk
 * boundaries, a suffix, an open end); a range past the end is 416 with `bytes *\/size`; malformed,
 * multiple, other-unit and hostile ranges, and a conditional If-Range, get the whole file (200), as
 * RFC 9110 allows; another user's file is 404 with or without a range, and no sign-in is 401.
 */
import { describe, expect, test } from 'bun:test'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'

const startApp = binaryAppStarter()
const CHUNK = 64 * 1024

/** Text whose every byte is known: numbered lines of the same length. */
function numberedText(bytes: number): Buffer {
  let text = ''
  for (let line = 0; text.length < bytes; line++) text += `line ${String(line).padStart(8, '0')} of a ranged file\n`
  return Buffer.from(text.slice(0, bytes - 1) + '\n')
}

describe('file content with Range through dist/enclave', async () => {
  const binary = await startApp()
  const { ada, bob } = await signUpAdminAndUser(binary.app as never)
  const url = () => binary.server().url

  async function upload(token: string, name: string, bytes: Uint8Array): Promise<string> {
    const form = new FormData()
    form.append('file', new File([Buffer.from(bytes)], name, { type: 'text/plain' }))
    const res = await fetch(`${url()}/api/v1/files/`, { method: 'POST', headers: { ...bearer(token), accept: 'application/json' }, body: form })
    expect(res.status).toBe(200)
    return (await res.json() as { id: string }).id
  }
  const content = (token: string | null, id: string, headers: Record<string, string> = {}) =>
    fetch(`${url()}/api/v1/files/${id}/content`, { headers: { ...(token === null ? {} : bearer(token)), ...headers } })

  const text = numberedText(2 * CHUNK + 5000)
  const exact = numberedText(2 * CHUNK)
  const id = await upload(bob.token, 'ranged.txt', text)
  const exactId = await upload(bob.token, 'exact.txt', exact)

  test('without a Range the whole file, saying ranges are accepted', async () => {
    const res = await content(bob.token, id)
    expect(res.status).toBe(200)
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect([null, String(text.length)]).toContain(res.headers.get('content-length'))
    expect(Buffer.from(await res.arrayBuffer()).equals(text)).toBe(true)
  })

  test.each([
    ['the first bytes', 'bytes=0-9', 0, 9],
    ['within the second chunk', `bytes=${CHUNK + 100}-${CHUNK + 199}`, CHUNK + 100, CHUNK + 199],
    ['across a chunk boundary', `bytes=${CHUNK - 10}-${CHUNK + 9}`, CHUNK - 10, CHUNK + 9],
    ['across two boundaries', `bytes=${CHUNK - 1}-${2 * CHUNK}`, CHUNK - 1, 2 * CHUNK],
    ['from a chunk boundary to the end', `bytes=${2 * CHUNK}-`, 2 * CHUNK, 2 * CHUNK + 4999],
    ['a suffix', 'bytes=-100', 2 * CHUNK + 4900, 2 * CHUNK + 4999],
    ['an end past the file, clamped', `bytes=${2 * CHUNK + 4990}-${10 * CHUNK}`, 2 * CHUNK + 4990, 2 * CHUNK + 4999],
    ['the last byte', `bytes=${2 * CHUNK + 4999}-${2 * CHUNK + 4999}`, 2 * CHUNK + 4999, 2 * CHUNK + 4999],
  ])('206: %s', async (_, range, start, end) => {
    const res = await content(bob.token, id, { range })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${text.length}`)
    // note: Bun sends a streamed body longer than one piece chunked, without a Content-Length.
    expect([null, String(end - start + 1)]).toContain(res.headers.get('content-length'))
    expect(res.headers.get('content-disposition')).toStartWith('attachment')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(Buffer.from(await res.arrayBuffer()).equals(text.subarray(start, end + 1))).toBe(true)
  })

  test('a file of whole chunks: its last byte and its tail', async () => {
    const last = await content(bob.token, exactId, { range: `bytes=${2 * CHUNK - 1}-` })
    expect(last.status).toBe(206)
    expect(Buffer.from(await last.arrayBuffer()).equals(exact.subarray(2 * CHUNK - 1))).toBe(true)
    const past = await content(bob.token, exactId, { range: `bytes=${2 * CHUNK}-` })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${exact.length}`)
  })

  test.each(['bytes=999999-', `bytes=${2 * CHUNK + 5000}-${3 * CHUNK}`, 'bytes=-0', 'bytes=99999999999999999999-'])('416 for %s, with the size and no bytes', async (range) => {
    const res = await content(bob.token, id, { range })
    expect(res.status).toBe(416)
    expect(res.headers.get('content-range')).toBe(`bytes */${text.length}`)
    expect((await res.arrayBuffer()).byteLength).toBe(0)
  })

  test.each([
    'bytes=0-1,5-9', 'items=0-9', 'bytes=9-0', 'bytes=abc', 'bytes=-', 'bytes=0x10-0x20', 'bytes=1e3-2e3', 'bytes=-1-2',
    `bytes=${'9'.repeat(500)}-`, `bytes=0-1${',0-1'.repeat(1000)}`, 'bytes=0-999999999999999999999',
  ])('the whole file (200) for a malformed, multiple or hostile range: %s', async (range) => {
    const res = await content(bob.token, id, { range })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-range')).toBeNull()
    expect(Buffer.from(await res.arrayBuffer()).equals(text)).toBe(true)
  })

  test('a conditional range (If-Range) gets the whole file: there is no validator to match', async () => {
    const res = await content(bob.token, id, { range: 'bytes=0-9', 'if-range': '"some-etag"' })
    expect(res.status).toBe(200)
    expect((await res.arrayBuffer()).byteLength).toBe(text.length)
  })

  test('another user\'s file is 404 with a range too (the admin included), and no sign-in is 401', async () => {
    expect((await content(ada.token, id, { range: 'bytes=0-9' })).status).toBe(404)
    expect((await content(ada.token, id, { range: 'bytes=999999-' })).status).toBe(404)
    expect((await content(null, id, { range: 'bytes=0-9' })).status).toBe(401)
  })
})
