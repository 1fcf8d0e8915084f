import { afterAll, beforeAll, expect, test } from 'bun:test'
import { directConnectionVariables } from '../config/direct-connection-variables.ts'
import { addressList, type AddressList } from '../config/network.ts'
import { checkOutboundUrl, OutboundError, requestChecked, type OutboundPolicy, type Resolve } from './outbound-address.ts'

const publicOnly: OutboundPolicy = { allowedHostNames: new Set(), allowedRanges: null }
/** A resolver that never touches the network: names map to fixed answers, anything else fails. */
const fakeResolve = (answers: Record<string, string[]>): Resolve => async (hostname) => {
  const found = answers[hostname]
  if (found === undefined) throw new Error('ENOTFOUND')
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
}
const names = fakeResolve({
  'public.test': ['93.184.216.34'],
  'sneaky.test': ['93.184.216.34', '10.0.0.1'],
  'loop.test': ['127.0.0.1'],
  'v6loop.test': ['::1'],
  'llm.test': ['127.0.0.1'],
})

test.each([
  ['loopback', 'http://127.0.0.1:11434/v1'],
  ['loopback elsewhere in 127/8', 'http://127.8.9.10/v1'],
  ['decimal', 'http://2130706433/v1'],
  ['hex', 'http://0x7f000001/v1'],
  ['octal', 'http://0177.0.0.1/v1'],
  ['short form', 'http://127.1/v1'],
  ['trailing dot', 'http://127.0.0.1./v1'],
  ['userinfo trick', 'http://public.test@127.0.0.1/v1'],
  ['IPv6 loopback', 'http://[::1]/v1'],
  ['IPv4-mapped dotted', 'http://[::ffff:127.0.0.1]/v1'],
  ['IPv4-mapped hex', 'http://[::ffff:7f00:1]/v1'],
  ['IPv4-compatible', 'http://[::127.0.0.1]/v1'],
  ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/v1'],
  ['6to4 of private', 'http://[2002:a00:1::1]/v1'],
  ['unspecified', 'http://0.0.0.0/v1'],
  ['unspecified short', 'http://0/v1'],
  ['IPv6 unspecified', 'http://[::]/v1'],
  ['private 10/8', 'http://10.1.2.3/v1'],
  ['private 172.16/12', 'http://172.31.255.1/v1'],
  ['private 192.168/16', 'http://192.168.1.1/v1'],
  ['shared 100.64/10', 'http://100.64.0.1/v1'],
  ['link-local', 'http://169.254.1.1/v1'],
  ['metadata', 'http://169.254.169.254/latest/meta-data'],
  ['metadata decimal', 'http://2852039166/latest'],
  ['metadata mapped', 'http://[::ffff:169.254.169.254]/latest'],
  ['Azure wire server', 'http://168.63.129.16/'],
  ['AWS IPv6 metadata', 'http://[fd00:ec2::254]/'],
  ['metadata name', 'http://metadata.google.internal/computeMetadata/v1'],
  ['metadata name, trailing dot', 'http://metadata.google.internal./'],
  ['IPv6 link-local', 'http://[fe80::1]/v1'],
  ['IPv6 unique-local', 'http://[fd12:3456::1]/v1'],
  ['multicast', 'http://224.0.0.1/v1'],
  ['IPv6 multicast', 'http://[ff02::1]/v1'],
  ['broadcast', 'http://255.255.255.255/v1'],
  ['a name resolving to loopback', 'http://loop.test/v1'],
  ['a name resolving to IPv6 loopback', 'http://v6loop.test/v1'],
  ['a name with one private address among public ones', 'https://sneaky.test/v1'],
])('refused before any connection: %s', async (_, url) => {
  const result = await checkOutboundUrl(url, publicOnly, names)
  expect(result.ok).toBe(false)
  if (!result.ok) expect(['refused_address', 'credentials_in_url']).toContain(result.reason)
})

test.each([
  ['not a URL', 'not a url', 'invalid_url'],
  ['another scheme', 'file:///etc/passwd', 'invalid_url'],
  ['gopher', 'gopher://127.0.0.1/', 'invalid_url'],
  ['credentials', 'https://user:secret@public.test/v1', 'credentials_in_url'],
  ['an unknown name', 'https://nowhere.test/v1', 'unresolvable'],
])('refused: %s', async (_, url, reason) => {
  expect(await checkOutboundUrl(url, publicOnly, names)).toMatchObject({ ok: false, reason })
})

test('a public address passes, and the request will go to the address resolved now', async () => {
  expect(await checkOutboundUrl('https://public.test/v1', publicOnly, names)).toMatchObject({ ok: true, target: { address: '93.184.216.34', family: 4 } })
  expect(await checkOutboundUrl('https://93.184.216.34/v1', publicOnly, names)).toMatchObject({ ok: true })
  expect(await checkOutboundUrl('https://[2606:4700::1111]/v1', publicOnly, names)).toMatchObject({ ok: true })
})

test('the admin\'s list allows a range or a host name, and nothing else', async () => {
  const ranges = addressList('127.0.0.1/32,10.0.0.0/8') as AddressList
  const policy: OutboundPolicy = { allowedHostNames: new Set(['llm.test']), allowedRanges: ranges }
  expect((await checkOutboundUrl('http://127.0.0.1:1/v1', policy, names)).ok).toBe(true)
  expect((await checkOutboundUrl('http://2130706433:1/v1', policy, names)).ok).toBe(true)
  expect((await checkOutboundUrl('http://10.9.9.9/v1', policy, names)).ok).toBe(true)
  expect((await checkOutboundUrl('http://llm.test/v1', policy, names)).ok).toBe(true)
  expect((await checkOutboundUrl('http://127.0.0.2/v1', policy, names)).ok).toBe(false)
  expect((await checkOutboundUrl('http://loop.test/v1', policy, names)).ok).toBe(true)
  expect((await checkOutboundUrl('http://169.254.169.254/', policy, names)).ok).toBe(false)
  expect((await checkOutboundUrl('http://192.168.0.1/', policy, names)).ok).toBe(false)
})

test('DIRECT_CONNECTIONS_ALLOWED_HOSTS parses names and ranges, and refuses anything else', () => {
  const parse = directConnectionVariables.DIRECT_CONNECTIONS_ALLOWED_HOSTS.parse
  expect(parse('llm.lan, 10.0.0.0/8,127.0.0.1, ::1, Example.COM.')).toEqual({ names: ['llm.lan', 'example.com'], ranges: ['10.0.0.0/8', '127.0.0.1', '::1'] })
  for (const bad of ['http://x', '10.0.0.0/99', 'a b', '*', 'x/y']) expect(parse(bad)).toHaveProperty('expected')
})

let server: ReturnType<typeof Bun.serve>
const seen: { host: string | null; path: string }[] = []
beforeAll(() => {
  server = Bun.serve({
    port: 0, hostname: '127.0.0.1',
    fetch(request) {
      const url = new URL(request.url)
      seen.push({ host: request.headers.get('host'), path: url.pathname })
      if (url.pathname.endsWith('/redirect')) return new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/latest' } })
      return Response.json({ ok: true })
    },
  })
})
afterAll(() => server.stop())

const allowLoopback: OutboundPolicy = { allowedHostNames: new Set(['llm.test']), allowedRanges: addressList('127.0.0.1') as AddressList }

test('an allowed address is reached, a name keeps its Host header though the checked address is dialled, and a redirect is not followed', async () => {
  const checked = await checkOutboundUrl(`http://llm.test:${server.port}/v1`, allowLoopback, names)
  if (!checked.ok) throw new Error(checked.message)
  const answer = await requestChecked(checked.target, '/models', { method: 'GET', headers: {}, timeoutMs: 5_000 })
  expect(answer.status).toBe(200)
  let text = ''
  for await (const chunk of answer.body) text += Buffer.from(chunk).toString()
  expect(JSON.parse(text)).toEqual({ ok: true })
  expect(seen.at(-1)).toEqual({ host: `llm.test:${server.port}`, path: '/v1/models' })
  const before = seen.length
  const redirected = requestChecked(checked.target, '/redirect', { method: 'GET', headers: {}, timeoutMs: 5_000 })
  await expect(redirected).rejects.toBeInstanceOf(OutboundError)
  await expect(redirected).rejects.toMatchObject({ reason: 'redirect' })
  expect(seen.length).toBe(before + 1)
})
