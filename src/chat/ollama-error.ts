/**
 * Why a call to Ollama failed, from a closed list callers switch on. The message is safe to log and
 * to show an administrator: a fixed sentence, at most a short excerpt of what Ollama said, and no
 * URL. The underlying error, if any, is the `cause`.
 */
export type OllamaFailureReason =
  | 'unreachable' // refused, DNS, reset: no answer, or the connection dropped mid-answer
  | 'timeout_first_byte' // nothing within `firstByteMs` of the request
  | 'timeout_idle' // a gap longer than `idleMs` between two reads
  | 'model_not_found' // Ollama's 404 for a model it doesn't have
  | 'bad_response' // a redirect, a body that isn't NDJSON or JSON, a chunk of the wrong shape, a cut-off stream
  | 'ollama_error' // any other failing status, or an `{ "error": ... }` line mid-stream
  | 'aborted' // the caller's AbortSignal fired

/** A failed call to Ollama; `status` is the HTTP status when Ollama answered with one. */
export class OllamaError extends Error {
  constructor(readonly reason: OllamaFailureReason, message: string, readonly status: number | null = null, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'OllamaError'
  }
}
