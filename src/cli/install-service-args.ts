import { basename, isAbsolute, normalize } from 'node:path'
import type { UnitOptions } from '../service/systemd-unit.ts'

export type InstallServiceOptions = UnitOptions & {
  /** Print the unit and change nothing. */
  print: boolean
  /** Directory the unit file goes into. */
  unitDir: string
}

export type InstallServiceArgs = { ok: true; options: InstallServiceOptions } | { ok: false; problem: string }

const defaults = { user: 'enclave', dataDir: '/var/lib/enclave', configDir: '/etc/enclave', unitDir: '/etc/systemd/system', host: '127.0.0.1', port: '8080' }
const pathFlags = { '--binary': 'binary', '--data-dir': 'dataDir', '--config-dir': 'configDir', '--unit-dir': 'unitDir' } as const
const valueFlags = { ...pathFlags, '--user': 'user', '--host': 'host', '--port': 'port' } as const

/** Quotes an argument for an error message, cut short so a huge one is not echoed whole. */
const quote = (arg: string) => JSON.stringify(arg.length > 60 ? `${arg.slice(0, 60)}…` : arg)

/**
 * Reads `enclave install-service [--print] [--binary P] [--user U] [--data-dir D] [--config-dir C]
 * [--unit-dir DIR] [--host H] [--port N]`. Every value lands in a unit file, so each is checked
 * strictly: absolute paths without spaces, quotes, `%` or control characters (which systemd would
 * read as separators or specifiers), a plain user name, a host and a port.
 */
export function parseInstallServiceArgs(argv: readonly string[], runningExecutable: string): InstallServiceArgs {
  const given: Partial<Record<(typeof valueFlags)[keyof typeof valueFlags], string>> = {}
  let print = false
  const args = [...argv]
  while (args.length > 0) {
    const arg = args.shift()!
    if (arg === '--print') {
      print = true
      continue
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const key = (valueFlags as Record<string, (typeof valueFlags)[keyof typeof valueFlags]>)[name]
    if (key === undefined) return { ok: false, problem: `unknown option ${quote(name)}` }
    const value = inline ?? args.shift()
    if (value === undefined || (inline === undefined && value.startsWith('--'))) return { ok: false, problem: `${name} needs a value` }
    given[key] = value
  }

  // note: run from source, the executable is bun itself; the unit must start the compiled binary.
  const binary = given.binary ?? (['bun', 'bun.exe'].includes(basename(runningExecutable)) ? null : runningExecutable)
  if (binary === null) return { ok: false, problem: 'run install-service from the compiled binary, or name it with --binary /path/to/enclave' }
  const values = { ...defaults, ...given, binary }
  for (const [flag, key] of Object.entries(pathFlags)) {
    const value = values[key]
    if (!isAbsolute(value) || !/^[A-Za-z0-9/._+-]{1,200}$/.test(value) || normalize(value) !== value || value === '/') {
      return { ok: false, problem: `${flag} must be an absolute path of at most 200 letters, digits and / . _ + - (got ${quote(value)})` }
    }
  }
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(values.user) || values.user === 'root') return { ok: false, problem: `--user must be a plain system user name other than root (got ${quote(values.user)})` }
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(values.host)) return { ok: false, problem: `--host must be an IP address or host name (got ${quote(values.host)})` }
  const port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : 0
  if (port < 1 || port > 65535) return { ok: false, problem: `--port must be an integer from 1 to 65535 (got ${quote(values.port)})` }
  const { user, dataDir, configDir, unitDir, host } = values
  return { ok: true, options: { print, binary, user, dataDir, configDir, unitDir, host, port } }
}
