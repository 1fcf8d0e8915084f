import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import {
  boolean, byteSize, hostName, httpUrl, integerFrom, isParseFailure, nonEmptyText, oneOf, path, portNumber, text,
  type Parser,
} from './parsers.ts'

const failed = (value: unknown) => isParseFailure(value)

describe('isParseFailure', () => {
  test.each<[unknown, boolean]>([
    [{ expected: 'x' }, true],
    [{ expected: 'x', other: 1 }, false],
    [{}, false],
    [null, false],
    ['expected', false],
    [0, false],
    [['expected'], false],
  ])('%p -> %p', (value, result) => {
    expect(isParseFailure(value)).toBe(result)
  })
})

describe('integerFrom', () => {
  test('accepts every integer in range, with surrounding whitespace (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 5000 }), fc.nat(2000),
      (min, span, offset) => {
        const n = min + (offset % (span + 1))
        expect(integerFrom(min, min + span)(` ${n}\t`)).toBe(n)
      }))
  })

  test('refuses every integer out of range (fast-check)', () => {
    fc.assert(fc.property(fc.integer(), (n) => {
      const parse = integerFrom(0, 600)
      expect(failed(parse(String(n)))).toBe(n < 0 || n > 600)
    }))
  })

  test.each(['', ' ', '0', '65536', '1.0', '0x10', '1_000', '+5', '٣', 'Infinity', 'NaN', '9007199254740993'])('portNumber refuses %p', (raw) => {
    expect(portNumber(raw)).toEqual({ expected: 'an integer from 1 to 65535' })
  })
})

describe('byteSize', () => {
  test.each<[string, number]>([
    ['1kb', 1024], ['1k', 1024], ['1KB', 1024], ['3m', 3 * 1024 ** 2], ['1G', 1024 ** 3], ['2048b', 2048], ['4096', 4096], [' 8 kb ', 8192],
  ])('%p is %p bytes', (raw, bytes) => {
    expect(byteSize(raw)).toBe(bytes)
  })

  test('n kb is n * 1024 for every n up to 1 GiB (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1024 ** 2 }), (n) => {
      expect(byteSize(`${n}kb`)).toBe(n * 1024)
    }))
  })

  test.each(['0', '1023', '1025mb', '2gb', '1tb', '1.5mb', '-1mb', 'mb', '', 'abc', '1 2', '1constructor', '1tostring'])('refuses %p', (raw) => {
    expect(byteSize(raw)).toEqual({ expected: 'a size from 1kb to 1gb, such as 16mb or 1048576' })
  })
})

describe('httpUrl', () => {
  test('never returns a URL ending in a slash (fast-check)', () => {
    fc.assert(fc.property(fc.webUrl({ withQueryParameters: false, withFragments: false }), fc.nat(3), (url, slashes) => {
      const parsed = httpUrl(url + '/'.repeat(slashes))
      if (!failed(parsed)) expect(String(parsed).endsWith('/')).toBe(false)
    }))
  })

  test.each([
    ['https://a.example', 'https://a.example'],
    ['HTTP://A.EXAMPLE:80/', 'http://a.example'],
    ['http://a.example/x/y//', 'http://a.example/x/y'],
    [' http://127.0.0.1:11434 ', 'http://127.0.0.1:11434'],
  ])('%p -> %p', (raw, url) => {
    expect(httpUrl(raw)).toBe(url)
  })

  test.each(['', 'example.com', 'ws://a.example', 'file:///etc/passwd', 'https://u:p@a.example', 'https://u@a.example'])('refuses %p', (raw) => {
    expect(failed(httpUrl(raw))).toBe(true)
  })
})

describe('small parsers', () => {
  test('oneOf matches any casing and returns the listed spelling (fast-check)', () => {
    const parse = oneOf(['DEBUG', 'INFO', 'WARNING'])
    fc.assert(fc.property(fc.constantFrom('DEBUG', 'INFO', 'WARNING'), fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }), (word, upper) => {
      const mixed = [...word].map((char, i) => (upper[i] ? char.toUpperCase() : char.toLowerCase())).join('')
      expect(parse(mixed)).toBe(word)
    }))
    expect(parse('WARN')).toEqual({ expected: 'one of DEBUG, INFO, WARNING' })
  })

  test.each<[string, boolean | null]>([
    ['true', true], ['TRUE', true], ['1', true], ['yes', true], [' on ', true],
    ['false', false], ['0', false], ['no', false], ['Off', false], ['', false],
    ['2', null], ['enabled', null],
  ])('boolean(%p) -> %p', (raw, result) => {
    expect(boolean(raw)).toEqual(result === null ? { expected: 'true or false' } : result)
  })

  test.each<[string, string, string | null, Parser<string>]>([
    ['hostName', '127.0.0.1', '127.0.0.1', hostName('PORT')],
    ['hostName', 'fe80::1%eth0', 'fe80::1%eth0', hostName('PORT')],
    ['hostName', '::', '::', hostName('PORT')],
    ['hostName', '[::1]', '[::1]', hostName('PORT')],
    ['hostName', 'ldap_1.internal', 'ldap_1.internal', hostName('PORT')],
    ['hostName', 'a b', null, hostName('PORT')],
    ['hostName', 'host/path', null, hostName('PORT')],
    ['hostName', '', null, hostName('PORT')],
    ['hostName', '-bad.example', null, hostName('PORT')],
    ['hostName', 'a:b', null, hostName('PORT')],
    ['hostName', '1.2.3.4.5:', null, hostName('PORT')],
    ['path', ' ./data ', './data', path],
    ['path', 'a\0b', null, path],
    ['path', '   ', null, path],
    ['nonEmptyText', ' x ', 'x', nonEmptyText],
    ['nonEmptyText', '\t', null, nonEmptyText],
    ['text', ' x ', ' x ', text],
  ])('%s(%p) -> %p', (_, raw, result, parse) => {
    const parsed = parse(raw)
    if (result === null) expect(failed(parsed)).toBe(true)
    else expect(parsed).toBe(result)
  })

  test.each([
    ['0.0.0.0:8080', 'an address without a port; put the port in PORT'],
    ['[::1]:8080', 'an address without a port; put the port in PORT'],
    ['localhost:', 'an address without a port; put the port in PORT'],
    ['http://0.0.0.0', 'an address without a scheme (no http://), such as 0.0.0.0 or localhost'],
    ['https://example.com:443', 'an address without a scheme (no https://), such as 0.0.0.0 or localhost'],
  ])('hostName(%p) names what to change', (raw, expected) => {
    expect(hostName('PORT')(raw)).toEqual({ expected })
  })

  test('no parser throws, whatever the input (fast-check)', () => {
    const parsers: Parser<unknown>[] = [portNumber, byteSize, httpUrl, hostName('PORT'), path, nonEmptyText, boolean, oneOf(['A'])]
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (raw) => {
      for (const parse of parsers) parse(raw)
    }))
  })
})
