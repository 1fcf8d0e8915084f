/**
 * One writer per data directory. `enclave serve` and every command that writes DATA_DIR (keys
 * rotate, keys rotate-data, import, restore) hold DATA_DIR/enclave.lock while they run: one line of
 * JSON, `{"pid":1234,"command":"enclave serve","startedAt":"…","boot":"…","start":"…"}`, mode 0600
 * (`boot` and `start`, Linux's boot id and the process's start tick, are null elsewhere).
 *
 * Threat: two processes writing one database. A second server splits the clients between two
 * caches and two key sets; `keys rotate` beside a running server re-wraps the data keys while the
 * server keeps wrapping new ones under the old master key, and after a restart those accounts no
 * longer open. The CLI's probe of its own configured port missed a server on another port.
 *
 * Invariant: the file is made complete beside the lock and hard-linked into place, which fails when
 * a lock exists, so of two processes starting together exactly one holds it and nobody reads half
 * a file. A lock whose process is gone is stale and taken over: its pid is not running (a crash,
 * SIGKILL), or the machine has booted since, or the pid now belongs to a process started at another
 * moment, or it is this very pid (a container started again as pid 1). A holder is released at exit.
 * note: a pid is only seen in this PID namespace: a process in another container sharing the
 * directory is not, as with PostgreSQL's postmaster.pid.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export const LOCK_FILE = 'enclave.lock'

/** Who holds a data directory. */
export type LockHolder = { pid: number; command: string; startedAt: string; boot: string | null; start: string | null }

/** Another live process holds the data directory; the message names it and says what to do. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockHolder) {
    super(`the data directory ${dataDir} is in use by ${holder.command} (pid ${holder.pid}, since ${holder.startedAt}): stop it first, or use another DATA_DIR.`)
    this.name = 'DataDirLockedError'
  }
}

export type DataDirLock = { path: string; release: () => void }

/**
 * Takes DATA_DIR's lock for `command` or throws DataDirLockedError. With `createDirectory` a
 * missing directory is made (0700) first; without, a missing directory has nothing to protect and
 * the lock is a no-op.
 */
export function lockDataDir(dataDir: string, command: string, options: { createDirectory: boolean; now?: () => number }): DataDirLock {
  const path = join(dataDir, LOCK_FILE)
  let created: string | null = null
  if (!existsSync(dataDir)) {
    if (!options.createDirectory) return { path, release: () => {} }
    created = mkdirSync(dataDir, { recursive: true, mode: 0o700 }) ?? null
  }
  const holder: LockHolder = {
    pid: process.pid, command, startedAt: new Date((options.now ?? Date.now)()).toISOString(), boot: readBootId(), start: readProcessStart(process.pid),
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    if (placeLockFile(path, holder)) return heldLock(path, holder, created)
    const current = readLockHolder(path)
    if (current !== null && isRunning(current)) throw new DataDirLockedError(dataDir, current)
    removeStaleLock(dataDir, path)
  }
  throw new DataDirLockedError(dataDir, readLockHolder(path) ?? { pid: 0, command: 'another process', startedAt: 'just now', boot: null, start: null })
}

/** Reads who holds the lock at `path`; null when there is none or it is not a lock we wrote. */
export function readLockHolder(path: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>
    if (!Number.isSafeInteger(parsed.pid) || (parsed.pid ?? 0) <= 0 || typeof parsed.command !== 'string' || typeof parsed.startedAt !== 'string') return null
    const text = (value: unknown, max: number) => (typeof value === 'string' ? value.slice(0, max) : null)
    return { pid: parsed.pid!, command: parsed.command.slice(0, 100), startedAt: parsed.startedAt.slice(0, 40), boot: text(parsed.boot, 64), start: text(parsed.start, 32) }
  } catch {
    return null
  }
}

/** True when the holder's process still runs and is not this one. */
function isRunning(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return false
  const boot = readBootId()
  if (holder.boot !== null && boot !== null && holder.boot !== boot) return false
  try {
    process.kill(holder.pid, 0)
  } catch (error) {
    // note: EPERM means it exists but belongs to another user.
    if ((error as { code?: string }).code !== 'EPERM') return false
  }
  const start = readProcessStart(holder.pid)
  return holder.start === null || start === null || holder.start === start
}

/** Linux's id of this boot; null elsewhere. */
function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null
  } catch {
    return null
  }
}

/** When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat); null elsewhere. */
function readProcessStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // note: the command name in parentheses may hold spaces; the fields after it start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** Puts a complete lock file at `path` unless one is there; true when this process now holds it. */
function placeLockFile(path: string, holder: LockHolder): boolean {
  const draft = `${path}.${process.pid}.${crypto.randomUUID()}`
  writeFileSync(draft, `${JSON.stringify(holder)}\n`, { mode: 0o600, flag: 'wx' })
  try {
    linkSync(draft, path)
    return true
  } catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'EEXIST') return false
    // note: a filesystem without hard links gets O_EXCL instead; a reader may then meet an empty file for an instant.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error
    return createExclusively(path, holder)
  } finally {
    rmSync(draft, { force: true })
  }
}

function createExclusively(path: string, holder: LockHolder): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return false
    throw error
  }
  try {
    writeFileSync(fd, `${JSON.stringify(holder)}\n`)
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * Moves a stale lock aside and deletes it. If what was moved turns out live (another process took
 * the lock over in between), it is put back and that process named.
 */
function removeStaleLock(dataDir: string, path: string): void {
  const aside = `${path}.stale-${process.pid}-${crypto.randomUUID()}`
  try {
    renameSync(path, aside)
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return
    throw error
  }
  try {
    const moved = readLockHolder(aside)
    if (moved !== null && isRunning(moved)) {
      linkSync(aside, path)
      throw new DataDirLockedError(dataDir, moved)
    }
  } finally {
    rmSync(aside, { force: true })
  }
}

/** A held lock; releasing it also removes the directories it made, if a refused start left them empty. */
function heldLock(path: string, holder: LockHolder, created: string | null): DataDirLock {
  const release = () => {
    process.off('exit', release)
    const current = readLockHolder(path)
    if (current === null || current.pid !== holder.pid || current.startedAt !== holder.startedAt) return
    rmSync(path, { force: true })
    for (let dir = dirname(path); created !== null && (dir === created || dir.startsWith(`${created}/`)); dir = dirname(dir)) {
      if (!removeIfEmpty(dir)) break
    }
  }
  // note: whatever way the process ends short of SIGKILL, its lock goes with it.
  process.on('exit', release)
  return { path, release }
}

function removeIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir)
    return true
  } catch {
    return false
  }
}
