/** Runs the key and data lifecycle commands: parse, load the configuration, dispatch. */
import { loadConfig, readDotenvFile } from '../config/load-config.ts'
import { backupDatabase, restoreDatabase } from './backup.ts'
import { importFromOpenWebUi } from './import-open-webui.ts'
import { printKeyStatus, verifyKeys } from './keys.ts'
import { parseLifecycleArgs } from './parse-lifecycle-args.ts'
import { rotateDataKeysOffline } from './rotate-data-keys.ts'
import { rotateMasterKeyOffline } from './rotate-master-key.ts'
import { USAGE } from './usage.ts'

const io = { out: (text: string) => void process.stdout.write(text), err: (text: string) => void process.stderr.write(text) }

/** Returns the exit code: 0 done, 1 refused or failed (with a message), 2 usage error. */
export async function runLifecycleCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseLifecycleArgs(argv)
  if (!parsed.ok) {
    io.err(`enclave: ${parsed.problem}\n\n${USAGE}`)
    return 2
  }
  const config = loadConfig({ flags: parsed.flags, env: process.env, dotenv: readDotenvFile(process.cwd()), cwd: process.cwd() })
  // Files these commands create (backups, restored databases, keys) are for their owner only.
  process.umask(0o077)
  switch (parsed.command) {
    case 'keys status': return printKeyStatus(config, io)
    case 'keys verify': return verifyKeys(config, io)
    case 'keys rotate': return rotateMasterKeyOffline(config, parsed.options['--new-key-file'] as string, io)
    case 'keys rotate-data': return rotateDataKeysOffline(config, { user: parsed.options['--user'] as string | undefined, batchSize: parsed.options['--batch-size'] as string | undefined }, io)
    case 'backup': return backupDatabase(config, parsed.positionals[0]!, fileOptions(parsed.options), io)
    case 'restore': return restoreDatabase(config, parsed.positionals[0]!, fileOptions(parsed.options), io)
    case 'import open-webui': return importFromOpenWebUi(config, parsed.positionals[0]!, io)
  }
}

function fileOptions(options: Record<string, string | true>): { passphraseFile?: string; force: boolean } {
  const passphraseFile = options['--passphrase-file']
  return { ...(typeof passphraseFile === 'string' ? { passphraseFile } : {}), force: options['--force'] === true }
}
