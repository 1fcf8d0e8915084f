import { describe, expect, test } from 'bun:test'
import { t, ValidationError } from 'elysia'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { validationSummary } from './validation-summary.ts'

const SECRET = 'Password-bob-123-5c0d'
const SignIn = t.Object({ email: t.String({ maxLength: 320 }), password: t.String({ maxLength: 4096 }), role: t.Optional(t.Union([t.Literal('user'), t.Literal('admin'), t.Null()])) })

describe('validationSummary', () => {
  test.each([
    ['a list for a string', { email: 'bob@x.io', password: [SECRET] }, [{ field: '/password', problem: 'Expected string' }]],
    ['an object for a string', { email: { SECRET }, password: 'x' }, [{ field: '/email', problem: 'Expected string' }]],
    ['a string too long', { email: SECRET.repeat(20), password: 'x' }, [{ field: '/email', problem: 'Expected string length less or equal to 320' }]],
    ['a field left out', { email: 'bob@x.io' }, [{ field: '/password', problem: 'Missing. Expected string' }]],
    ['a value outside a union', { email: 'bob@x.io', password: 'x', role: SECRET }, [{ field: '/role', problem: 'Expected one of: "user", "admin", null' }]],
  ] as const)('%s: names the field and what was expected, not the value', (_, value, expected) => {
    for (const validator of [TypeCompiler.Compile(SignIn), SignIn]) {
      const summary = validationSummary(new ValidationError('body', validator, value))
      expect(summary).toEqual(expected as unknown as typeof summary)
      expect(JSON.stringify(summary)).not.toContain(SECRET)
    }
  })

  test('a required field of any type left out is missing', () => {
    const Save = t.Object({ chat: t.Unknown() })
    for (const validator of [TypeCompiler.Compile(Save), Save]) {
      expect(validationSummary(new ValidationError('body', validator, {}))).toEqual([{ field: '/chat', problem: 'Missing' }])
    }
  })

  test('at most ten fields', () => {
    const Many = t.Object(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, t.String()])))
    expect(validationSummary(new ValidationError('body', TypeCompiler.Compile(Many), {}))).toHaveLength(10)
  })

  test('a value nested to the request limit is summarised without recursion trouble', () => {
    const deep = JSON.parse('['.repeat(999) + ']'.repeat(999)) as unknown
    expect(validationSummary(new ValidationError('body', TypeCompiler.Compile(SignIn), { email: deep, password: 'x' }))).toEqual([{ field: '/email', problem: 'Expected string' }])
  })
})
