import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { isIP } from 'node:net'
import { ipVersionOf } from './ip-address.ts'

const cases = [
  '1.2.3.4', '0.0.0.0', '255.255.255.255', '01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.5', '0x7f.1.1.1', '127.1', '2130706433',
  ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n', '', '.', '::', '::1', '1::', '::1.2.3.4', '::ffff:1.2.3.4', '::ffff:7f00:1', 'FE80::A', 'fe80::1%eth0',
  'fe80::1%', 'fe80::1%eth0.1-x:y', '::1%25', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
  '[::1]', '::g', '12345::', ':::', '1:::2', '2001:db8::8a2e:370:7334', 'localhost', 'example.com', '١.٢.٣.٤', '1.2.3.4%eth0',
]

test.each(cases)('ipVersionOf(%p) answers as node:net isIP', (text) => {
  expect(ipVersionOf(text)).toBe(isIP(text) as 0 | 4 | 6)
})

test('ipVersionOf answers as node:net isIP for any string built from address characters', () => {
  const addressLike = fc.stringMatching(/^[0-9a-fA-F:.%\-g ]{0,45}$/)
  fc.assert(fc.property(addressLike, (text) => ipVersionOf(text) === isIP(text)), { numRuns: 20_000 })
})

test('ipVersionOf answers as node:net isIP for real addresses of both families', () => {
  fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (text) => ipVersionOf(text) === isIP(text)), { numRuns: 5_000 })
})

test('ipVersionOf answers as node:net isIP for strings shaped like IPv6 addresses, valid or not', () => {
  const group = fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), fc.constantFrom('', '0', 'ffff', '12345', 'g', 'FFFF'))
  const quad = fc.oneof(fc.ipV4(), fc.constantFrom('1.2.3', '01.2.3.4', '256.0.0.1', '1.2.3.4.5'))
  const zone = fc.oneof(fc.constant(''), fc.stringMatching(/^%[0-9a-zA-Z.:%\-_ ]{0,6}$/))
  const shaped = fc.tuple(fc.array(group, { maxLength: 9 }), fc.integer({ min: -1, max: 9 }), fc.option(quad), zone, fc.constantFrom('', ':', '::', ':::'))
    .map(([groups, compressAt, tail, zoneText, edge]) => {
      const parts = [...groups, ...(tail === null ? [] : [tail])]
      const joined = compressAt >= 0 && compressAt <= parts.length ? `${parts.slice(0, compressAt).join(':')}::${parts.slice(compressAt).join(':')}` : parts.join(':')
      return `${edge.length % 2 === 0 ? joined : edge + joined}${zoneText}`
    })
  fc.assert(fc.property(shaped, (text) => ipVersionOf(text) === isIP(text)), { numRuns: 50_000 })
})
