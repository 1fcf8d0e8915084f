/**
 * What a 422 says of a request out of shape: each field that failed (its JSON pointer) and what its
 * schema expects there, at most ten. Threat: an error body or log that repeats what was sent (a
 * password sent as a list, an MFA code as a number). Elysia's summaries do ("Expected property
 * 'password' to be string but found: <the value>"), so the items are read from TypeBox's errors,
 * whose messages are made from the schema alone (DefaultErrorFunction: "Expected string",
 * "Expected string length less or equal to 500", "Expected required property").
 * note: Open WebUI's FastAPI backend repeats the input in its 422 (`input`); its page reads only
 * `detail` (src/lib/apis/auths/index.ts, userSignIn: `error = err.detail`), which is a fixed sentence here.
 */
import type { TSchema } from '@sinclair/typebox'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'

export type ValidationItem = { field: string; problem: string }

const MAX_ITEMS = 10

/** The fields of Elysia's ValidationError this reads: the schema (or its compiled check) and the value it refused. */
type Refusal = { validator?: { Errors?: (value: unknown) => Iterable<ValueError> } | TSchema; value?: unknown }

/** The failed fields of Elysia's ValidationError `error`, each with what was expected: never the value sent. */
export function validationSummary(error: unknown): ValidationItem[] {
  const { validator, value } = error as Refusal
  if (validator === undefined || validator === null) return []
  const errors = typeof validator.Errors === 'function' ? validator.Errors(value) : Value.Errors(validator as TSchema, value)
  const items: ValidationItem[] = []
  // note: TypeBox tells a required field left out twice (required property, then its type): one item, with the type.
  const missing = new Map<string, ValidationItem>()
  for (const item of errors) {
    const summary = { field: item.path, problem: expectation(item) }
    if (item.value === undefined) {
      const told = missing.get(item.path)
      if (told !== undefined) {
        if (item.type !== ValueErrorType.ObjectRequiredProperty) told.problem = summary.problem
        continue
      }
      missing.set(item.path, summary)
    }
    items.push(summary)
    if (items.length === MAX_ITEMS) break
  }
  return items
}

/**
 * TypeBox's message; for a union, the kinds of value it takes (from the schema); for a field not sent
 * (JSON has no undefined: a value undefined is a field left out), that it is missing.
 */
function expectation(item: ValueError): string {
  const expected = item.type === ValueErrorType.Union ? `Expected one of: ${[...new Set(kindsOf(item.schema))].join(', ')}` : item.message
  if (item.value === undefined) return item.type === ValueErrorType.ObjectRequiredProperty ? 'Missing' : `Missing. ${expected}`
  return expected
}

/** The kinds of value a schema takes: a literal's value, a format or a type; a union's members' kinds. */
function kindsOf(schema: TSchema): string[] {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as TSchema[]).flatMap(kindsOf)
  if (schema.const !== undefined) return [JSON.stringify(schema.const)]
  return [String(schema.format ?? schema.type ?? 'value')]
}
