/**
 * Runs Debian's nginx (/usr/sbin/nginx) in the foreground as a test's reverse proxy: its own
 * config, pid file, temp paths and error log in a temp directory, on loopback ports the test picks.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

export const NGINX = '/usr/sbin/nginx'

/** A loopback TCP port that was free a moment ago. */
export function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

/** Wraps an `http { ... }` body in a complete nginx.conf that keeps every file inside `dir`. */
export function nginxConf(dir: string, httpBody: string): string {
  for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, `${temp}_temp`), { recursive: true })
  return `daemon off;
master_process on;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir}/client_body_temp;
    proxy_temp_path ${dir}/proxy_temp;
    fastcgi_temp_path ${dir}/fastcgi_temp;
    uwsgi_temp_path ${dir}/uwsgi_temp;
    scgi_temp_path ${dir}/scgi_temp;
${httpBody}
}
`
}

/** Starts nginx with `conf`, resolves once `readyUrl` answers; `stop()` sends SIGQUIT (graceful). */
export async function startNginx(dir: string, conf: string, ready: () => Promise<boolean>) {
  const confFile = join(dir, 'nginx.conf')
  await Bun.write(confFile, conf)
  const test = Bun.spawnSync([NGINX, '-t', '-p', dir, '-e', join(dir, 'error.log'), '-c', confFile], { stdout: 'pipe', stderr: 'pipe' })
  if (test.exitCode !== 0) throw new Error(`nginx -t refused the config:\n${test.stderr.toString()}`)
  const child = Bun.spawn([NGINX, '-p', dir, '-e', join(dir, 'error.log'), '-c', confFile], { stdout: 'ignore', stderr: 'pipe', stdin: 'ignore' })
  const deadline = Date.now() + 10_000
  while (!(await ready().catch(() => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`nginx did not start: ${await new Response(child.stderr).text()}${await Bun.file(join(dir, 'error.log')).text().catch(() => '')}`)
    }
    await Bun.sleep(20)
  }
  return {
    errorLog: () => Bun.file(join(dir, 'error.log')).text(),
    async stop() {
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await child.exited
      clearTimeout(timer)
    },
  }
}
