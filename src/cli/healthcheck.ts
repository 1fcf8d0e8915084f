import type { Config } from '../config/load-config.ts'

/** Asks the local server for /health; true when it answers {"status": true} within the timeout. */
export async function checkHealth(config: Config, timeoutMs = 3000): Promise<boolean> {
  try {
    const response = await fetch(`http://${localAddress(config.host)}:${config.port}/health`, { signal: AbortSignal.timeout(timeoutMs) })
    const body = (await response.json()) as { status?: unknown }
    return response.ok && body.status === true
  } catch {
    return false
  }
}

// note: a server bound to every interface is reached on loopback.
function localAddress(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
