/**
 * `enclave healthcheck`: asks the local server for /health, for Docker's HEALTHCHECK and scripts.
 * A failure says why (refused, an HTTP status, no answer in time) so `docker inspect` shows it.
 */
import type { Config } from '../config/load-config.ts'

/** Whether the server answered {"status": true}, and if not, one line saying why (no secrets: the URL is local). */
export type HealthResult = { ok: true } | { ok: false; problem: string }

/** Asks the local server for /health; ok when it answers {"status": true} within the timeout. */
export async function checkHealth(config: Config, timeoutMs = 3000): Promise<HealthResult> {
  const url = `http://${localAddress(config.host)}:${config.port}/health`
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
  } catch (error) {
    return { ok: false, problem: `${url}: ${describeFetchFailure(error, timeoutMs)}` }
  }
  if (!response.ok) return { ok: false, problem: `${url} answered HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}` }
  const body = await response.json().catch(() => null) as { status?: unknown } | null
  return body?.status === true ? { ok: true } : { ok: false, problem: `${url} answered, but not as Enclave does ({"status": true}): is another server on this port?` }
}

function describeFetchFailure(error: unknown, timeoutMs: number): string {
  const { name, code } = (error ?? {}) as { name?: string; code?: string }
  if (name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`
  if (code === 'ECONNREFUSED') return 'connection refused: is the server running, on this HOST and PORT?'
  if (code === 'ENOTFOUND') return 'the host name does not resolve'
  return `the request failed (${code ?? name ?? 'unknown error'})`
}

// note: a server bound to every interface is reached on loopback.
function localAddress(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}
