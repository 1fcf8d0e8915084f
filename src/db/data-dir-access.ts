/**
 * Checks, before a start writes anything, that the user Enclave runs as may use DATA_DIR and the
 * files the server writes there. Without it, a database another user owns (root's, after a
 * `sudo enclave restore`) or one of mode 0400 opens read-only: the server says it listens, then
 * answers every sign-in with a 500. A refusal names the path, its owner and mode, and the fix.
 * Only file metadata is read; key files are left to readKeyFile, which checks them itself.
 */
import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'

/** DATA_DIR or a file in it that this process may not use; the message says how to fix it. */
export class DataDirAccessError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DataDirAccessError'
  }
}

/**
 * Throws DataDirAccessError when DATA_DIR, or a file the server writes in it (the database named
 * `databaseFile`, SQLite's WAL and shared memory beside it, the audit log), is not usable by this user.
 */
export function checkDataDirAccess(dataDir: string, databaseFile: string): void {
  const found = statPath(dataDir)
  if (found === 'missing') return checkCanCreate(dataDir)
  if (found === 'unreachable') {
    throw new DataDirAccessError(`DATA_DIR ${dataDir} cannot be reached by ${runningUser()}: a directory above it is closed to this user. Open the path to it (chmod o+x on the closed directory), or choose another DATA_DIR.`)
  }
  if (!found.isDirectory()) throw new DataDirAccessError(`DATA_DIR ${dataDir} is not a directory: choose a directory, or move that file away.`)
  if (!mayAccess(dataDir, constants.R_OK | constants.W_OK | constants.X_OK)) throw refusal('DATA_DIR', dataDir, found, dataDir)
  for (const name of [databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`, 'audit.log']) {
    const path = join(dataDir, name)
    const stats = statPath(path)
    if (typeof stats === 'string') continue
    if (!mayAccess(path, constants.R_OK | constants.W_OK)) throw refusal('The file', path, stats, dataDir)
  }
}

/** A missing DATA_DIR is created at start, which needs write access to the nearest directory above it. */
function checkCanCreate(dataDir: string): void {
  let parent = dirname(dataDir)
  while (statPath(parent) === 'missing' && dirname(parent) !== parent) parent = dirname(parent)
  const stats = statPath(parent)
  if (typeof stats !== 'string' && mayAccess(parent, constants.W_OK | constants.X_OK)) return
  const owner = typeof stats === 'string' ? '' : ` (owned by ${ownerOf(stats)} with mode ${modeOf(stats)})`
  throw new DataDirAccessError(
    `DATA_DIR ${dataDir} does not exist, and ${runningUser()} may not create it in ${parent}${owner}. ` +
    `Create it for this user (mkdir -p ${dataDir} && chown ${userName()} ${dataDir}), or choose another DATA_DIR.`,
  )
}

/** Names the path, its owner and mode, and the fix: chmod when this user owns it, else chown. */
function refusal(label: string, path: string, stats: Stats, dataDir: string): DataDirAccessError {
  const isDirectory = stats.isDirectory()
  const fix = stats.uid === process.getuid?.()
    ? `Let its owner read and write it: chmod u+rw${isDirectory ? 'x' : ''} ${path}`
    : `Give DATA_DIR back to the user Enclave runs as: chown -R ${userName()} ${dataDir} (or run Enclave as ${ownerOf(stats)})`
  return new DataDirAccessError(`${label} ${path} is owned by ${ownerOf(stats)} with mode ${modeOf(stats)}, so ${runningUser()} may not ${isDirectory ? 'read and write in it' : 'write it'}. ${fix}.`)
}

/** The path's metadata, or why there is none: it does not exist, or a directory above it can't be searched. */
function statPath(path: string): Stats | 'missing' | 'unreachable' {
  try {
    return statSync(path)
  } catch (error) {
    return (error as { code?: string }).code === 'ENOENT' || (error as { code?: string }).code === 'ENOTDIR' ? 'missing' : 'unreachable'
  }
}

function mayAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode)
    return true
  } catch {
    return false
  }
}

const modeOf = (stats: Stats) => (stats.mode & 0o7777).toString(8).padStart(4, '0')
const ownerOf = (stats: Stats) => describeUid(stats.uid)
const userName = () => accountName(process.getuid?.() ?? -1) ?? String(process.getuid?.())
const runningUser = () => `Enclave's user ${describeUid(process.getuid?.() ?? -1)}`

function describeUid(uid: number): string {
  const name = accountName(uid)
  return name === null ? `uid ${uid}` : `${name} (uid ${uid})`
}

/** The account name of a uid from /etc/passwd, else null (a container's --user 1234 has none). */
function accountName(uid: number): string | null {
  // note: not os.userInfo(): Bun answers "unknown" there when USER is unset, as under systemd.
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.split(':')[2] === String(uid))
    return line?.split(':')[0] ?? null
  } catch {
    return null
  }
}
