/**
 * Runs Debian's Caddy (/usr/bin/caddy) as a test's reverse proxy: admin API off, its own local CA
 * (not installed into the system's trust store), storage and config in a temp directory, bound to
 * loopback on ports the test picks.
 */
import { join } from 'node:path'

export const CADDY = '/usr/bin/caddy'

/** Wraps site blocks in a Caddyfile whose global options keep everything inside `dir` and on loopback. */
export function caddyfile(dir: string, ports: { http: number; https: number }, sites: string): string {
  return `{
    admin off
    grace_period 1s
    skip_install_trust
    local_certs
    default_bind 127.0.0.1
    storage file_system ${join(dir, 'caddy-data')}
    http_port ${ports.http}
    https_port ${ports.https}
}
${sites}`
}

/** The root certificate of Caddy's local CA, once Caddy has made it. */
export const caddyRootCert = (dir: string) => join(dir, 'caddy-data', 'pki', 'authorities', 'local', 'root.crt')

/** Starts Caddy with `config`, resolves once `ready` says so; `stop()` sends SIGTERM (graceful). */
export async function startCaddy(dir: string, config: string, ready: () => Promise<boolean>) {
  const file = join(dir, 'Caddyfile')
  await Bun.write(file, config)
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir }
  const child = Bun.spawn([CADDY, 'run', '--config', file, '--adapter', 'caddyfile'], { env, stdout: 'ignore', stderr: 'pipe', stdin: 'ignore' })
  let log = ''
  const collected = (async () => {
    const reader = child.stderr.getReader()
    const decoder = new TextDecoder()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) log += decoder.decode(chunk.value, { stream: true })
  })()
  const deadline = Date.now() + 15_000
  while (!(await ready().catch(() => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      await collected
      throw new Error(`caddy did not start:\n${log}`)
    }
    await Bun.sleep(50)
  }
  return {
    log: () => log,
    async stop() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await child.exited
      clearTimeout(timer)
      await collected
    },
  }
}
