/**
 * Arguments of the key and data lifecycle commands: `keys status|verify|rotate|rotate-data`,
 * `backup`, `restore`, `migrate-db`, `import open-webui`, `import libre-webui` and `users list|reset-password`. Each takes fixed positional arguments, its own
 * options, and the setting flags every command reads (--data-dir, ...).
 */
import type { VariableName } from '../config/variables.ts'
import { quote, settingFlags, unknownName } from './parse-args.ts'

export type LifecycleCommand = 'keys status' | 'keys verify' | 'keys rotate' | 'keys rotate-data' | 'backup' | 'restore' | 'migrate-db' | 'import open-webui' | 'import libre-webui' | 'users list' | 'users reset-password'

type Spec = { positionals: string[]; options: Record<string, 'value' | 'switch'>; required?: string[] }

const specs: Record<LifecycleCommand, Spec> = {
  'keys status': { positionals: [], options: {} },
  'keys verify': { positionals: [], options: {} },
  'keys rotate': { positionals: [], options: { '--new-key-file': 'value' }, required: ['--new-key-file'] },
  'keys rotate-data': { positionals: [], options: { '--user': 'value', '--batch-size': 'value' } },
  backup: { positionals: ['FILE'], options: { '--passphrase-file': 'value', '--force': 'switch' } },
  restore: { positionals: ['FILE'], options: { '--passphrase-file': 'value', '--force': 'switch' }, required: ['--data-dir'] },
  'migrate-db': { positionals: [], options: { '--to': 'value' }, required: ['--to'] },
  'import open-webui': { positionals: ['PATH'], options: {} },
  'import libre-webui': { positionals: [], options: { '--from': 'value', '--encryption-key-file': 'value' }, required: ['--from'] },
  'users list': { positionals: [], options: {} },
  'users reset-password': { positionals: ['EMAIL'], options: {} },
}

export type LifecycleArgs =
  | { ok: true; command: LifecycleCommand; positionals: string[]; options: Record<string, string | true>; flags: Partial<Record<VariableName, string>> }
  | { ok: false; problem: string }

/** Tells whether argv starts with one of these commands (so main hands it here). */
export function isLifecycleCommand(argv: readonly string[]): boolean {
  return ['keys', 'backup', 'restore', 'migrate-db', 'import', 'users'].includes(argv[0] ?? '')
}

/** Parses a lifecycle command line; `problem` is a sentence for the usage error. */
export function parseLifecycleArgs(argv: readonly string[]): LifecycleArgs {
  const args = [...argv]
  const first = args.shift()!
  let command: LifecycleCommand
  if (first === 'keys' || first === 'import' || first === 'users') {
    const sub = args.shift()
    const name = `${first} ${sub ?? ''}` as LifecycleCommand
    if (sub === undefined || !(name in specs)) return { ok: false, problem: sub === undefined ? `${first} needs a subcommand` : unknownName(`${first} subcommand`, sub, Object.keys(specs).filter((known) => known.startsWith(`${first} `)).map((known) => known.slice(first.length + 1))) }
    command = name
  } else {
    command = first as LifecycleCommand
  }
  const spec = specs[command]
  const positionals: string[] = []
  const options: Record<string, string | true> = {}
  const flags: Partial<Record<VariableName, string>> = {}
  while (args.length > 0) {
    const arg = args.shift()!
    if (!arg.startsWith('--')) {
      if (positionals.length >= spec.positionals.length) {
        // note: not echoed: after an email, the extra word is most likely a password typed where it does not belong.
        if (command === 'users reset-password') return { ok: false, problem: 'unexpected argument after EMAIL: the password is read from stdin or the prompt, never from the command line' }
        return { ok: false, problem: `unexpected argument ${quote(arg)}` }
      }
      positionals.push(arg)
      continue
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const kind = spec.options[name] ?? (settingFlags[name] !== undefined ? 'value' : undefined)
    if (kind === undefined) return { ok: false, problem: unknownName('option', name, [...Object.keys(spec.options), ...Object.keys(settingFlags)]) }
    if (kind === 'switch') {
      if (inline !== undefined) return { ok: false, problem: `${name} takes no value` }
      options[name] = true
      continue
    }
    const value = inline ?? args.shift()
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) return { ok: false, problem: `${name} needs a value` }
    if (settingFlags[name] !== undefined) {
      flags[settingFlags[name]!] = value
      options[name] = value
    } else options[name] = value
  }
  if (positionals.length < spec.positionals.length) return { ok: false, problem: `${command} needs ${spec.positionals.slice(positionals.length).join(' ')}` }
  for (const required of spec.required ?? []) {
    if (options[required] === undefined) return { ok: false, problem: `${command} needs ${required}` }
  }
  return { ok: true, command, positionals, options, flags }
}
