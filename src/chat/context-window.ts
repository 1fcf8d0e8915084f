/**
 * How many tokens a model reads of a conversation, so a turn sends no more than that (history-bound.ts):
 * the `num_ctx` the turn's options set, else the model's own window as its connection's /api/show
 * names it (the Modelfile's `num_ctx`, else the length it was trained for). A model's window is
 * asked for in the background and remembered for WINDOW_TTL_MS, so no turn waits on it: until the
 * answer arrives the history goes unbounded, as before. A start asks for the listed models' windows
 * (`learn`, connections.ts), so the first turn with a model usually finds its window known.
 */
import type { ModelOptions, OllamaClient } from './ollama-client.ts'

/** How long a model's window is trusted before it is asked again (a model may be created anew). */
const WINDOW_TTL_MS = 10 * 60_000
/** How long a failed or unanswered question waits before it is asked again. */
const RETRY_AFTER_MS = 60_000
const SHOW_TIMEOUT_MS = 10_000

type Known = { tokens: number | null; until: number; asking: Promise<void> | null }

export function createContextWindows(now: () => number) {
  const byClient = new WeakMap<OllamaClient, Map<string, Known>>()

  function knownOf(client: OllamaClient, model: string): Known {
    let models = byClient.get(client)
    if (models === undefined) byClient.set(client, models = new Map())
    let known = models.get(model)
    if (known === undefined) models.set(model, known = { tokens: null, until: 0, asking: null })
    return known
  }

  /** Asks /api/show unless the answer is still trusted or on its way; settles (never rejects) once it is in. */
  function askUnlessKnown(client: OllamaClient, model: string): Promise<void> {
    const known = knownOf(client, model)
    if (known.asking !== null) return known.asking
    if (now() < known.until) return Promise.resolve()
    known.asking = client.contextWindow(model, { signal: AbortSignal.timeout(SHOW_TIMEOUT_MS) }).then(
      (tokens) => { Object.assign(known, { tokens, until: now() + WINDOW_TTL_MS, asking: null }) },
      () => { Object.assign(known, { until: now() + RETRY_AFTER_MS, asking: null }) },
    )
    return known.asking
  }

  return {
    /**
     * The window a turn with `model` on `client` is bounded by, in tokens: the options' `num_ctx`,
     * else the model's as last heard; null when not known yet (then it is asked for, in the background).
     */
    windowFor(client: OllamaClient, model: string, options: ModelOptions): number | null {
      const set = options.num_ctx
      if (typeof set === 'number' && Number.isSafeInteger(set) && set > 0) return set
      void askUnlessKnown(client, model)
      return knownOf(client, model).tokens
    },

    /** Asks for the model's window now, unless it is known or being asked; settles (never rejects) when the answer is in. */
    learn(client: OllamaClient, model: string): Promise<void> {
      return askUnlessKnown(client, model)
    },
  }
}

export type ContextWindows = ReturnType<typeof createContextWindows>
