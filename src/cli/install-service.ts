/**
 * `enclave install-service`: installs Enclave as a systemd service. As root it creates a dedicated
 * system user, the data directory owned by that user (0700), a master key file readable by root
 * only (handed to the service as a systemd credential), and the unit file; then it says how to
 * enable the service. It never starts or enables anything itself. `--print` only prints the unit.
 */
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeNewKeyFile } from '../crypto/key-files.ts'
import { generateKey } from '../crypto/random.ts'
import { renderSystemdUnit } from '../service/systemd-unit.ts'
import { parseInstallServiceArgs, type InstallServiceOptions } from './install-service-args.ts'

export type Output = { out: (text: string) => void; err: (text: string) => void }

/** Runs the command; returns the exit code (2 for bad arguments, 1 when it cannot install). */
export function installService(argv: readonly string[], io: Output, euid = process.geteuid?.() ?? -1): number {
  const parsed = parseInstallServiceArgs(argv, process.execPath)
  if (!parsed.ok) {
    io.err(`enclave install-service: ${parsed.problem}\n`)
    return 2
  }
  const options = parsed.options
  const unit = renderSystemdUnit(options)
  const hidden = ['/home/', '/root/', '/run/user/', '/tmp/', '/var/tmp/'].find((prefix) => options.binary.startsWith(prefix))
  if (hidden !== undefined) {
    io.err(`warning: the service cannot see ${options.binary}: the unit hides ${hidden} from it (ProtectHome, PrivateTmp). ` +
      'Copy the binary to /usr/local/bin and pass --binary /usr/local/bin/enclave.\n')
  }
  if (options.print) {
    io.out(unit)
    return 0
  }
  if (euid !== 0) {
    io.err('enclave install-service must run as root: it creates a system user and writes the unit into ' +
      `${options.unitDir}. Run it with sudo, or use --print to see the unit without installing anything.\n`)
    return 1
  }
  try {
    // note: both directories get chmod 0700 (and the data directory a chown), so a mistyped flag
    // such as --data-dir /etc must be refused before anything changes.
    refuseForeignDirectory(options.dataDir, ['enclave.db'], '--data-dir')
    refuseForeignDirectory(options.configDir, ['encryption_key', 'enclave.env'], '--config-dir')
    const account = ensureSystemUser(options)
    ensureDataDir(options.dataDir, account)
    const keyNote = ensureKeyFile(options)
    mkdirSync(options.unitDir, { recursive: true })
    const unitPath = join(options.unitDir, 'enclave.service')
    writeFileSync(unitPath, unit, { mode: 0o644 })
    chmodSync(unitPath, 0o644)
    io.out(`Installed ${unitPath}
  user ${options.user} (uid ${account.uid}), data in ${options.dataDir} (0700)
  ${keyNote}
  settings: ${join(options.configDir, 'enclave.env')} (optional, KEY=value lines, mode 0600)

Enable and start it with:
  systemctl daemon-reload
  systemctl enable --now enclave.service
Then check it with: systemctl status enclave.service; journalctl -u enclave.service
`)
    return 0
  } catch (error) {
    io.err(`enclave install-service: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
}

type Account = { uid: number; gid: number }

/** Finds the service user, creating it as a locked system account with its own group if missing. */
function ensureSystemUser(options: InstallServiceOptions): Account {
  const existing = lookUpUser(options.user)
  if (existing !== null) return existing
  const created = Bun.spawnSync(['useradd', '--system', '--user-group', '--home-dir', options.dataDir, '--no-create-home',
    '--shell', existsSync('/usr/sbin/nologin') ? '/usr/sbin/nologin' : '/bin/false', options.user], { stdout: 'ignore', stderr: 'pipe' })
  const account = lookUpUser(options.user)
  if (created.exitCode !== 0 || account === null) throw new Error(`could not create the system user ${options.user}: ${created.stderr.toString().trim() || 'useradd failed'}`)
  return account
}

function lookUpUser(name: string): Account | null {
  const run = Bun.spawnSync(['getent', 'passwd', name], { stdout: 'pipe', stderr: 'ignore' })
  const fields = run.exitCode === 0 ? run.stdout.toString().trim().split(':') : []
  return fields.length >= 4 ? { uid: Number(fields[2]), gid: Number(fields[3]) } : null
}

/** Throws unless `dir` is missing, empty, or recognisably Enclave's (it holds one of `markers`). */
function refuseForeignDirectory(dir: string, markers: readonly string[], flag: string): void {
  if (!existsSync(dir)) return
  if (!lstatSync(dir).isDirectory()) throw new Error(`${flag} ${dir} exists and is not a directory.`)
  const names = readdirSync(dir)
  if (names.length > 0 && !markers.some((marker) => names.includes(marker))) {
    throw new Error(`${flag} ${dir} already holds other files and none of Enclave's (${markers.join(', ')}); choose a new or empty directory.`)
  }
}

/** Creates the data directory (0700) or takes over an existing one: it and its files go to the service user. */
function ensureDataDir(dataDir: string, account: Account): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  for (const name of readdirSync(dataDir)) {
    if (!lstatSync(join(dataDir, name)).isSymbolicLink()) chownSync(join(dataDir, name), account.uid, account.gid)
  }
  chownSync(dataDir, account.uid, account.gid)
  chmodSync(dataDir, 0o700)
}

/**
 * Makes sure CONFIG_DIR/encryption_key exists (root, 0600): kept if present, copied from a key an
 * earlier run generated in DATA_DIR, or else generated. Returns a line saying which.
 */
function ensureKeyFile(options: InstallServiceOptions): string {
  mkdirSync(options.configDir, { recursive: true, mode: 0o700 })
  chmodSync(options.configDir, 0o700)
  const keyFile = join(options.configDir, 'encryption_key')
  if (existsSync(keyFile)) return `master key: kept ${keyFile}`
  const earlier = join(options.dataDir, '.encryption_key')
  if (existsSync(earlier)) {
    copyFileSync(earlier, keyFile)
    chmodSync(keyFile, 0o600)
    return `master key: copied ${earlier} to ${keyFile}; once the service runs, keep a backup of it and remove the copy in the data directory`
  }
  writeNewKeyFile(keyFile, Buffer.from(generateKey()).toString('hex'))
  return `master key: generated ${keyFile} (0600). Back it up now, apart from the data: without it nothing can be read`
}
