/**
 * A chat's model parameters: the Ollama options (Modelfile names) a user may set for a chat, with
 * their types and bounds. Threat: options go to Ollama as given, and a chat's stored params may
 * come from any client's save (Open WebUI keeps other keys there too), so only the names listed
 * here, with values of the listed type and range, ever reach Ollama; a huge `num_ctx` or a string
 * where a number belongs is refused at the socket and dropped from stored params.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { ModelOptions } from './ollama-client.ts'

// note: TypeBox's own Number and Integer: Elysia's also accept digit strings.
const ratio = () => Type.Number({ minimum: 0, maximum: 1 })
const penalty = () => Type.Number({ minimum: -2, maximum: 2 })
const count = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum })

/** Each option a chat may set, as Ollama names it. */
const OPTION_SCHEMAS = {
  temperature: Type.Number({ minimum: 0, maximum: 5 }),
  top_p: ratio(),
  min_p: ratio(),
  typical_p: ratio(),
  top_k: count(0, 1000),
  num_ctx: count(1, 1_048_576),
  num_predict: count(-2, 1_048_576),
  num_keep: count(-1, 1_048_576),
  repeat_last_n: count(-1, 1_048_576),
  repeat_penalty: Type.Number({ minimum: 0, maximum: 10 }),
  presence_penalty: penalty(),
  frequency_penalty: penalty(),
  seed: count(-2_147_483_648, 4_294_967_295),
  stop: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 16 }),
  mirostat: count(0, 2),
  mirostat_tau: Type.Number({ minimum: 0, maximum: 100 }),
  mirostat_eta: ratio(),
} satisfies Record<string, TSchema>

/** The options object a client may send: only the names above, each optional. */
export const ModelOptionsSchema = Type.Partial(Type.Object(OPTION_SCHEMAS), { additionalProperties: false })

// note: each check is compiled at its first use, not when the module loads: a start compiles none of them.
const compiledChecks = new Map<string, TypeCheck<TSchema>>()
const checks = {
  has: (name: string): boolean => Object.hasOwn(OPTION_SCHEMAS, name),
  /** The compiled check for a known option name; undefined for any other. */
  get(name: string): TypeCheck<TSchema> | undefined {
    if (!checks.has(name)) return undefined
    let check = compiledChecks.get(name)
    if (check === undefined) compiledChecks.set(name, (check = TypeCompiler.Compile(OPTION_SCHEMAS[name as keyof typeof OPTION_SCHEMAS])))
    return check
  },
}

/**
 * Returns the Ollama options in a chat's stored params: the listed names with valid values, and
 * Open WebUI's `max_tokens` as `num_predict`; everything else is left out. Empty for null.
 */
export function ollamaOptionsOf(params: Readonly<Record<string, unknown>> | null): ModelOptions {
  if (params === null) return {}
  const options: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(params)) {
    const key = name === 'max_tokens' ? 'num_predict' : name
    if (value !== null && checks.get(key)?.Check(value) === true && !(key in options && name === 'max_tokens')) options[key] = value
  }
  return options
}

/** Returns stored params with their Ollama options replaced by `options`; other keys (a client's own) are kept. */
export function withOllamaOptions(params: Readonly<Record<string, unknown>> | null, options: ModelOptions): Record<string, unknown> {
  const kept = Object.entries(params ?? {}).filter(([name]) => !checks.has(name) && name !== 'max_tokens')
  return { ...Object.fromEntries(kept), ...options }
}

/** The names of known options in `params` whose values are of the wrong type or out of range (null counts as unset). */
export function invalidOptionNames(params: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(params).filter(([name, value]) => value !== null && checks.has(name === 'max_tokens' ? 'num_predict' : name) && checks.get(name === 'max_tokens' ? 'num_predict' : name)!.Check(value) !== true).map(([name]) => name)
}
