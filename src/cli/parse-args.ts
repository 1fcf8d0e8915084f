import { closestName } from '../config/closest-name.ts'
import { withoutPassword } from '../config/database-variables.ts'
import type { VariableName } from '../config/variables.ts'

export type CommandName = 'serve' | 'config' | 'healthcheck' | 'version' | 'help'

export type ParsedArgs =
  | { ok: true; command: CommandName; flags: Partial<Record<VariableName, string>> }
  | { ok: false; problem: string }

const commands: readonly CommandName[] = ['serve', 'config', 'healthcheck', 'version', 'help']

/** Flags every command that reads the configuration accepts, and the variable each overrides. */
export const settingFlags: Record<string, VariableName> = { '--port': 'PORT', '--host': 'HOST', '--data-dir': 'DATA_DIR' }

/** Every first word main accepts, for "did you mean" (the lifecycle commands and install-service parse their own). */
const allCommands = [...commands, 'install-service', 'keys', 'backup', 'restore', 'import', 'migrate-db']

/** Quotes an argument for an error message, cut short so a huge one is not echoed whole, a URL's password masked. */
export const quote = (raw: string) => {
  const arg = /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(raw) ? withoutPassword(raw) : raw
  return JSON.stringify(arg.length > 60 ? `${arg.slice(0, 60)}…` : arg)
}

/** Says that `given` is unknown, suggesting the nearest of `known` when one is close. */
export function unknownName(what: string, given: string, known: Iterable<string>): string {
  const near = closestName(given, known, 2)
  return `unknown ${what} ${quote(given)}${near === null ? '' : `; did you mean ${near}?`}`
}

/** Reads `enclave [command] [--flag value | --flag=value]...`; the command defaults to serve. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const args = [...argv]
  if (args[0] === '--version' || args[0] === '-v') return args.length === 1 ? { ok: true, command: 'version', flags: {} } : { ok: false, problem: `unexpected argument after ${args[0]}` }
  if (args[0] === '--help' || args[0] === '-h') return { ok: true, command: 'help', flags: {} }
  let command: CommandName = 'serve'
  if (args[0] !== undefined && !args[0].startsWith('-')) {
    const named = commands.find((name) => name === args[0])
    if (named === undefined) return { ok: false, problem: unknownName('command', args[0], allCommands) }
    command = named
    args.shift()
  }
  const flags: Partial<Record<VariableName, string>> = {}
  while (args.length > 0) {
    const arg = args.shift()!
    const [name, inlineValue] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const variable = settingFlags[name]
    if (variable === undefined || command === 'version' || command === 'help') {
      return { ok: false, problem: unknownName('option', name, command === 'version' || command === 'help' ? [] : Object.keys(settingFlags)) }
    }
    const value = inlineValue ?? args.shift()
    if (value === undefined || (inlineValue === undefined && value.startsWith('--'))) return { ok: false, problem: `${name} needs a value` }
    flags[variable] = value
  }
  return { ok: true, command, flags }
}
