/**
 * Runs the key and data lifecycle commands: parse, load the configuration, dispatch. Each command's
 * module is imported when it runs, so one command never loads the others' code.
 */
import { loadConfig, readDotenvFile } from '../config/load-config.ts'
import { lockDataDir, type DataDirLock } from '../db/data-dir-lock.ts'
import { describePostgresFailure, showUrl } from './postgres-failure.ts'
import { parseLifecycleArgs, type LifecycleCommand } from './parse-lifecycle-args.ts'
import { formatUsageError } from './usage.ts'

const io = { out: (text: string) => void process.stdout.write(text), err: (text: string) => void process.stderr.write(text) }

/** Returns the exit code: 0 done, 1 refused or failed (with a message), 2 usage error. */
export async function runLifecycleCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseLifecycleArgs(argv)
  if (!parsed.ok) {
    io.err(formatUsageError(parsed.problem))
    return 2
  }
  const config = loadConfig({ flags: parsed.flags, env: process.env, dotenv: readDotenvFile(process.cwd()), cwd: process.cwd(), allowDatabaseUrl: onPostgres.has(parsed.command) })
  // Files these commands create (backups, restored databases, keys) are for their owner only.
  process.umask(0o077)
  let lock: DataDirLock | null = null
  try {
    // note: backup reads one consistent snapshot (VACUUM INTO) beside a running server, so it, like keys status and verify, takes no lock.
    // note: on PostgreSQL, DATA_DIR holds only the file blobs; restore still takes its lock, as it replaces them.
    if (writers.has(parsed.command) && !(config.postgres !== null && parsed.command !== 'restore')) lock = lockDataDir(config.dataDir, `enclave ${parsed.command}`, { createDirectory: createsDataDir.has(parsed.command) })
    return await dispatch(parsed, config)
  } catch (error) {
    const problem = describeFailure(error) ?? (config.postgres === null ? null : describePostgresFailure(error, showUrl(config.postgres.url)))
    if (problem === null) throw error
    io.err(`enclave: ${problem}\n`)
    return 1
  } finally {
    lock?.release()
  }
}

/** The commands that write DATA_DIR, and of those the ones that may make it. */
// note: `users list` too: it opens the store, which a running server holds.
const writers = new Set<LifecycleCommand>(['migrate-db', 'keys rotate', 'keys rotate-data', 'restore', 'import open-webui', 'import libre-webui', 'users list', 'users reset-password'])
const createsDataDir = new Set<LifecycleCommand>(['restore', 'import open-webui', 'import libre-webui'])
/**
 * The commands that work on PostgreSQL (DATABASE_URL): each opens the store DATABASE_URL names.
 */
const onPostgres = new Set<LifecycleCommand>(['keys status', 'keys verify', 'backup', 'restore', 'migrate-db', 'users list', 'users reset-password', 'keys rotate', 'keys rotate-data', 'import open-webui', 'import libre-webui'])

async function dispatch(parsed: Extract<ReturnType<typeof parseLifecycleArgs>, { ok: true }>, config: ReturnType<typeof loadConfig>): Promise<number> {
  switch (parsed.command) {
    case 'keys status': return (await import('./keys.ts')).printKeyStatus(config, io)
    case 'keys verify': return (await import('./keys.ts')).verifyKeys(config, io)
    case 'keys rotate': return (await import('./rotate-master-key.ts')).rotateMasterKeyOffline(config, parsed.options['--new-key-file'] as string, io)
    case 'keys rotate-data': return (await import('./rotate-data-keys.ts')).rotateDataKeysOffline(config, { user: parsed.options['--user'] as string | undefined, batchSize: parsed.options['--batch-size'] as string | undefined }, io)
    case 'backup': return (await import('./backup.ts')).backupDatabase(config, parsed.positionals[0]!, fileOptions(parsed.options), io)
    case 'restore': return (await import('./backup.ts')).restoreDatabase(config, parsed.positionals[0]!, fileOptions(parsed.options), io)
    case 'migrate-db': return (await import('./migrate-db.ts')).migrateDatabase(config, parsed.options['--to'] as string, io)
    case 'import open-webui': return (await import('./import-open-webui.ts')).importFromOpenWebUi(config, parsed.positionals[0]!, io)
    case 'users list': return (await import('./users.ts')).listUsers(config, io)
    case 'users reset-password': return (await import('./users.ts')).resetPassword(config, parsed.positionals[0]!, (await import('./users.ts')).stdinPasswordSource(), io)
    case 'import libre-webui': return (await import('./import-libre-webui.ts')).importFromLibreWebUi(config, parsed.options['--from'] as string, parsed.options['--encryption-key-file'] as string | undefined, io)
  }
}

// Key, database and file errors carry messages written for operators (never key material); others propagate.
const operatorErrors = ['KeyMaterialError', 'KeyMismatchError', 'NoDatabaseError', 'CommandRefusedError', 'SchemaTooNewError', 'FieldOpenError', 'DataDirLockedError', 'CopyCheckError']
const fileErrorCodes = ['ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'EISDIR', 'ENOTDIR', 'ENOSPC', 'EROFS']

function describeFailure(error: unknown): string | null {
  if (!(error instanceof Error)) return null
  if (operatorErrors.includes(error.name)) return error.message
  const { code, path } = error as { code?: string; path?: string }
  if (code !== undefined && fileErrorCodes.includes(code)) return `${code}${path === undefined ? '' : ` on ${path}`}: check the path and its permissions.`
  return null
}

function fileOptions(options: Record<string, string | true>): { passphraseFile?: string; force: boolean } {
  const passphraseFile = options['--passphrase-file']
  return { ...(typeof passphraseFile === 'string' ? { passphraseFile } : {}), force: options['--force'] === true }
}
