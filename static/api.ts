/**
 * The one way the page talks HTTP to the server: same-origin JSON with the session cookie. A
 * refused request becomes an ApiError carrying the server's `code`, its safe `detail` sentence and,
 * for 429, the seconds to wait from Retry-After.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
    /** The whole refusal as sent (the second sign-in step reads its challenge from it). */
    readonly body: unknown = null,
  ) {
    super(message)
  }
}

type Method = 'GET' | 'POST' | 'DELETE'

let onSessionEnded: () => void = () => {}

/** Sets what happens when the server says the session is gone (401 outside sign-in). */
export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler
}

/** Sends a JSON request and returns the parsed answer; throws ApiError for any non-2xx status. */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.')
  }
  const text = await response.text()
  const parsed: unknown = text === '' ? null : safeJson(text)
  if (!response.ok) {
    const detail = (parsed as { detail?: unknown; code?: unknown } | null) ?? {}
    if (response.status === 401 && !path.startsWith('/api/v1/auths/')) onSessionEnded()
    const retry = response.headers.get('retry-after')
    throw new ApiError(
      response.status,
      typeof detail.code === 'string' ? detail.code : `http_${response.status}`,
      typeof detail.detail === 'string' ? detail.detail : `The server answered ${response.status}.`,
      retry !== null && /^\d+$/.test(retry) ? Number(retry) : null,
      parsed,
    )
  }
  return parsed as T
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** The message to show for a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429 && error.retryAfterSeconds !== null) {
      return `Too many attempts. Please wait ${formatWait(error.retryAfterSeconds)} and try again.`
    }
    return error.message
  }
  return 'Something went wrong. Please try again.'
}

/** Formats a wait in seconds as "42 seconds" or "3 minutes". */
export function formatWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`
  const minutes = Math.ceil(seconds / 60)
  return `${minutes} minutes`
}
