/**
 * Runs the compiled binary (dist/enclave, built by `npm run build`) as a child process in a temp
 * directory, with a clean environment, and collects what it prints.
 */
import { afterAll } from 'bun:test'
import { Database } from 'bun:sqlite'
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SUITE_DEFAULTS } from './suite-defaults.ts'

export const BINARY = join(import.meta.dir, '..', '..', 'dist', 'enclave')

export function requireBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run \`npm run build\` (npm test does it first).`)
  return BINARY
}

export function makeTempDir(prefix = 'enclave-bin-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Returns a maker of temp directories that are all removed after the file's tests. */
export function tempDirsRemovedAfterAll(): () => string {
  const dirs: string[] = []
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
  return () => {
    const dir = makeTempDir()
    dirs.push(dir)
    return dir
  }
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' })

/** Runs the binary to completion (for commands that exit) and returns its code and output. */
export async function runBinary(args: string[], options: { cwd: string; env?: Record<string, string>; binary?: string }) {
  const child = Bun.spawn([options.binary ?? requireBinary(), ...args], {
    cwd: options.cwd, env: { ...baseEnv(), ...options.env }, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore',
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
  clearTimeout(timer)
  return { code, stdout, stderr, output: stdout + stderr }
}

export type RunningBinary = {
  url: string
  pid: number
  output: () => string
  /** The output once it holds `text` (start-up lines written after "listening" may come a moment later); throws after `timeoutMs`. */
  outputWith: (text: string, timeoutMs?: number) => Promise<string>
  stop: (signal?: 'SIGTERM' | 'SIGINT' | 'SIGKILL') => Promise<number>
}

/**
 * Starts `enclave serve` on `port` (default: a free one) and resolves once it says where it listens.
 * `wrapper` runs it through another command (e.g. setpriv or unshare), which must exec the binary.
 */
export async function startBinary(options: { cwd: string; env?: Record<string, string>; args?: string[]; binary?: string; wrapper?: string[]; port?: number }): Promise<RunningBinary> {
  const child = Bun.spawn([...(options.wrapper ?? []), options.binary ?? requireBinary(), 'serve', '--port', String(options.port ?? 0), ...(options.args ?? [])], {
    cwd: options.cwd, env: { ...baseEnv(), ...SUITE_DEFAULTS, ...options.env }, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore',
  })
  let output = ''
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader()
    const decoder = new TextDecoder()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += decoder.decode(chunk.value, { stream: true })
  }
  const collected = Promise.all([collect(child.stdout), collect(child.stderr)])
  const deadline = Date.now() + 15_000
  while (!/listening on (http:\/\/\S+)/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      await collected
      throw new Error(`enclave did not start (exit ${child.exitCode}):\n${output}`)
    }
    await Bun.sleep(20)
  }
  const url = /listening on (http:\/\/\S+)/.exec(output)![1]!
  return {
    url,
    pid: child.pid,
    output: () => output,
    outputWith: async (text, timeoutMs = 10_000) => {
      for (const deadline = Date.now() + timeoutMs; !output.includes(text); await Bun.sleep(20)) {
        if (Date.now() > deadline) throw new Error(`enclave's output never held ${JSON.stringify(text)}:\n${output}`)
      }
      return output
    },
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await child.exited
      clearTimeout(timer)
      await collected
      return code
    },
  }
}

/**
 * Copies the binary into a fresh temp directory every user may traverse, for tests that run it as
 * another user: the checkout itself may sit where they can't reach it (under /root, say).
 */
export function binaryForAnyUser(makeDir: () => string): string {
  const dir = makeDir()
  chmodSync(dir, 0o711)
  const copy = join(dir, 'enclave')
  copyFileSync(requireBinary(), copy)
  chmodSync(copy, 0o755)
  return copy
}

/** Counts the rows of `table` (optionally `where`) in the database the binary wrote under cwd/data, opened read-only. */
export function countStoredRows(cwd: string, table: string, where = '1', ...params: string[]): number {
  const db = new Database(join(cwd, 'data', 'enclave.db'), { readonly: true })
  try {
    return (db.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get(...params) as { n: number }).n
  } finally {
    db.close()
  }
}
