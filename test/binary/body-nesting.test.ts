/**
 * Request bodies nested deeper than MAX_JSON_NESTING (src/db/json-nesting.ts) get a 400 on every
 * JSON route of the compiled binary, anonymous or signed in, their length declared or chunked, in
 * OpenAI's error shape on its paths; a body at the limit is read as before. Once, 5,000 levels in a
 * string field overflowed the stack while the validation error was built: 500 and an ERROR line.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { MAX_JSON_NESTING } from '../../src/db/json-nesting.ts'
import { startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const server = await startBinary({ cwd: tempDir() })
afterAll(() => server.stop())

/** `levels` arrays, one within the other: `[[…]]`. */
const arrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)

async function post(path: string, body: string, headers: Record<string, string>, chunked: boolean): Promise<Response> {
  const sent = chunked ? new Blob([body]).stream() : body
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: sent })
}

const signUp = async (email: string) => {
  const res = await post('/api/v1/auths/signup', JSON.stringify({ name: 'Ada', email, password: 'correct horse battery' }), {}, false)
  expect(res.status).toBe(200)
  return { authorization: `Bearer ${((await res.json()) as { token: string }).token}` }
}
const admin = await signUp('admin@example.com')

// [path, whether signed in, the body with `deep` (a value whose nesting makes the body's `depth` levels) in a field]
const ROUTES: [string, boolean, (deep: string) => string][] = [
  ['/api/v1/auths/signin', false, (deep) => `{"email":${deep},"password":"x"}`],
  ['/api/v1/auths/signup', false, (deep) => `{"name":"N","email":${deep},"password":"x"}`],
  ['/api/v1/folders/', true, (deep) => `{"name":${deep}}`],
  ['/api/v1/knowledge/create', true, (deep) => `{"name":${deep},"description":"d"}`],
  ['/api/v1/auths/update/profile', true, (deep) => `{"name":${deep}}`],
  ['/api/v1/users/user/settings/update', true, (deep) => `{"ui":{"x":${deep}}}`],
  ['/api/chat/completions', true, (deep) => `{"model":"m","messages":${deep}}`],
]
/** The levels the body's own object (and `"ui"`'s) add around the deep value. */
const around = (path: string) => (path.endsWith('/settings/update') ? 2 : 1)

describe('a body nested past the limit is refused with 400, at the limit it is read', () => {
  const cases = ROUTES.flatMap(([path, signedIn]) =>
    [MAX_JSON_NESTING, MAX_JSON_NESTING + 1, 5000, 100_000].flatMap((depth) => [false, true].map((chunked) => [path, signedIn, depth, chunked] as const)))

  test.each(cases)('%s (signed in: %p), %p levels, chunked: %p', async (path, signedIn, depth, chunked) => {
    const body = ROUTES.find(([route]) => route === path)![2]
    const res = await post(path, body(arrays(depth - around(path))), signedIn ? admin : {}, chunked)
    const text = await res.text()
    const isOpenAi = path === '/api/chat/completions'
    if (depth <= MAX_JSON_NESTING) {
      expect(res.status).toBeGreaterThanOrEqual(200)
      expect(res.status).toBeLessThan(500)
      expect(text).not.toContain('body_too_deep')
    } else if (!signedIn && depth === 100_000) {
      // note: 200 KB is over what an anonymous request may send.
      expect([res.status, JSON.parse(text).code]).toEqual([413, 'body_too_large'])
    } else {
      expect(res.status).toBe(400)
      const code = isOpenAi ? JSON.parse(text).error.code : JSON.parse(text).code
      expect(code).toBe('body_too_deep')
      if (isOpenAi) expect(JSON.parse(text).error.type).toBe('invalid_request_error')
    }
  })

  test('a protected route asked without a credential answers 401 to a deep body of declared length', async () => {
    const res = await post('/api/v1/folders/', `{"name":${arrays(5000)}}`, {}, false)
    expect(res.status).toBe(401)
  })

  test('none of them was logged as a server failure', async () => {
    expect(server.output()).not.toContain('ERROR')
    expect(server.output()).not.toContain('Maximum call stack')
  })
})
