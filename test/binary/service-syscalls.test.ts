/**
 * The systemd unit's system call filter (@system-service minus @privileged and @resources) must
 * not break the server: the binary is traced with strace through a start, a sign-up, a streamed
 * chat over the socket and a graceful stop, and every system call it made must be allowed. The
 * trace also shows why the unit leaves MemoryDenyWriteExecute off: the JIT maps memory W+X.
 */
import { afterAll, expect, test } from 'bun:test'
import { chmodSync, chownSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeOllama } from '../fakes/ollama.ts'
import { binaryForAnyUser, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { chatOverSocket, signUpRemote } from '../helpers/remote-session.ts'

const tempDir = tempDirsRemovedAfterAll()
const fake = await startFakeOllama({ behaviour: { chunkDelayMs: 1 } })
afterAll(() => fake.stop())

/** Expands a systemd syscall group (and the groups inside it) into system call names. */
function syscallGroup(name: string, seen = new Set<string>()): Set<string> {
  const listed = Bun.spawnSync(['systemd-analyze', 'syscall-filter', '--no-pager', name], { stdout: 'pipe' }).stdout.toString()
  const names = new Set<string>()
  for (const line of listed.split('\n').slice(1).map((entry) => entry.trim())) {
    if (line === '' || line.startsWith('#')) continue
    if (line.startsWith('@')) {
      if (!seen.has(line)) for (const inner of syscallGroup(line, seen.add(line))) names.add(inner)
    } else names.add(line)
  }
  return names
}

/** The filter lines of the unit, turned into the set of allowed system calls. */
function allowedByUnit(unit: string): Set<string> {
  const allowed = new Set<string>()
  for (const [, negated, groups] of unit.matchAll(/^SystemCallFilter=(~?)(.*)$/gm)) {
    for (const group of groups!.split(' ')) {
      for (const name of syscallGroup(group)) negated === '~' ? allowed.delete(name) : allowed.add(name)
    }
  }
  return allowed
}

test('every system call the server makes is allowed by the unit\'s filter', async () => {
  const cwd = tempDir()
  const unit = (await runBinary(['install-service', '--print'], { cwd })).stdout
  const allowed = allowedByUnit(unit)
  expect(allowed.has('read')).toBe(true)
  expect(allowed.has('setrlimit')).toBe(false) // @resources is really removed
  expect(allowed.has('mount')).toBe(false)

  // As in the unit, the server runs as an unprivileged user (as root, SQLite also fchowns its files).
  const trace = join(cwd, 'trace.txt')
  const dataDir = join(cwd, 'data')
  chmodSync(cwd, 0o711)
  mkdirSync(dataDir, { mode: 0o700 })
  chownSync(dataDir, 65534, 65534)
  const server = await startBinary({ cwd: dataDir, binary: binaryForAnyUser(tempDir), env: { OLLAMA_BASE_URL: fake.url, DATA_DIR: dataDir }, wrapper: ['strace', '-f', '-qq', '-u', 'nobody', '-o', trace] })
  try {
    const base = server.url
    const token = await signUpRemote(base, 'ada@example.com')
    const chat = await chatOverSocket(`${base.replace('http', 'ws')}/api/ws`, token, 'hello from inside the sandbox')
    expect(chat.text).toBe('hello from inside the sandbox')
  } finally {
    // note: SIGTERM to strace would detach it and leave the server running; stop the traced server itself.
    const traced = Number(readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(' ')[0])
    process.kill(traced, 'SIGTERM')
    expect(await server.stop()).toBe(0)
  }

  const lines = readFileSync(trace, 'utf8').split('\n')
  const made = new Set(lines.map((line) => /^\d+\s+([a-z_0-9]+)\(/.exec(line)?.[1]).filter((name): name is string => name !== undefined))
  expect(made.size).toBeGreaterThan(30)
  const refused = [...made].filter((name) => !allowed.has(name))
  expect(refused).toEqual([])
  // The reason MemoryDenyWriteExecute stays off (see src/service/systemd-unit.ts).
  expect(lines.some((line) => /mmap\(.*PROT_WRITE\|PROT_EXEC/.test(line))).toBe(true)
}, 60_000)

