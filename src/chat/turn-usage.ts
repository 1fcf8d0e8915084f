/** An answer's statistics as Open WebUI keeps them with the message (`usage`), which its page and Enclave's show. */
import type { ChatStats } from './ollama-client.ts'

/**
 * Open WebUI's `usage` of an Ollama answer (what its page shows on hover): token counts,
 * durations in ns, tokens per second; null for an answer without Ollama's final statistics.
 */
export function usageOf(stats: Record<string, unknown>): Record<string, number> | null {
  const { evalCount, evalDurationNs, promptEvalCount, promptEvalDurationNs, totalDurationNs, loadDurationNs } = stats as Partial<ChatStats>
  if (typeof evalCount !== 'number') return null
  const perSecond = (tokens: number | null | undefined, ns: number | null | undefined) => (tokens != null && ns != null && ns > 0 ? Math.round((tokens / ns) * 1e11) / 100 : null)
  const usage: Record<string, number | null | undefined> = {
    'response_token/s': perSecond(evalCount, evalDurationNs), 'prompt_token/s': perSecond(promptEvalCount, promptEvalDurationNs),
    total_duration: totalDurationNs, load_duration: loadDurationNs, prompt_eval_count: promptEvalCount, prompt_eval_duration: promptEvalDurationNs,
    eval_count: evalCount, eval_duration: evalDurationNs,
    prompt_tokens: promptEvalCount, completion_tokens: evalCount, total_tokens: (promptEvalCount ?? 0) + evalCount,
  }
  return Object.fromEntries(Object.entries(usage).filter((entry): entry is [string, number] => typeof entry[1] === 'number'))
}
