import type { Parser } from './parsers.ts'

/**
 * One setting: how to parse it, its default, and its documentation (docs/configuration.md's
 * table is generated from these). `flag` names the serve flag that overrides it; `secret` values
 * print as ***; `emptyTurnsOff` passes an empty value to the parser (meaning "off") instead of
 * treating it as unset.
 */
export type Variable<T> = {
  parse: Parser<T>
  default: T | null
  doc: string
  secret?: true
  flag?: string
  emptyTurnsOff?: true
  /**
   * Another product's name for the same setting (Libre WebUI's), read when this name is unset; a
   * value set under both names that differs is refused, naming both. `rewrite` turns the other
   * product's spelling of the value into ours (e.g. its comma-separated list into ours).
   */
  otherName?: { name: string; product: string; rewrite?: (raw: string) => string }
  /** How to print the value (in `enclave config` and docs/configuration.md) when String() would not do. */
  show?: (value: T) => string
}

/** Renders a variable's value for people: its own `show`, else plain text. */
export function showValue(variable: Variable<unknown>, value: unknown): string {
  if (variable.show !== undefined) return variable.show(value)
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.join(',')
  return String(value)
}
