/**
 * Air-gapped: the binary runs in a network namespace with only loopback (`unshare --net`, as
 * root) and serves fully: health, sign-up, a streamed chat with a local Ollama, chat and model
 * lists. Under strace, every connect, send and bind it made stayed on loopback: no telemetry, no
 * update checks, no name lookups.
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { requireBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()

test('serves fully with no route out, and every network call it makes is to loopback', async () => {
  const workDir = tempDir()
  const script = join(import.meta.dir, 'fixtures', 'offline-session.ts')
  const run = Bun.spawn(['unshare', '--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, script, requireBinary(), workDir], {
    stdout: 'pipe', stderr: 'pipe', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
  })
  const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited])
  if (code !== 0) throw new Error(`the offline session failed (${code}):\n${stderr}`)
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    health: unknown; chatText: string; chatCount: number; models: string[]; outside: string; exitCode: number; networkCalls: string[]; ollama: string
  }
  expect(report.outside).not.toBe('reached') // the namespace really has no way out
  expect(report.health).toEqual({ status: true })
  expect(report.chatText).toBe('no network needed here')
  expect(report.chatCount).toBe(1)
  expect(report.models.length).toBeGreaterThan(0)
  expect(report.exitCode).toBe(0)

  const ollamaPort = new URL(report.ollama).port
  const inet = report.networkCalls.filter((call) => /AF_INET6?|AF_NETLINK|AF_PACKET/.test(call))
  expect(inet.some((call) => call.startsWith('connect(') && call.includes(`sin_port=htons(${ollamaPort})`))).toBe(true)
  const offLoopback = inet.filter((call) => !/inet_addr\("127\.0\.0\.1"\)|inet_pton\(AF_INET6, "::1"/.test(call))
  expect(offLoopback).toEqual([])
  // No AF_UNIX connection either: no name service, no D-Bus.
  expect(report.networkCalls.filter((call) => /sun_path=/.test(call))).toEqual([])
}, 60_000)
