/**
 * The open chat's message tree as the page walks it (Open WebUI's `history`): messages by id, each
 * naming its parent and children; the chat shows the path from a root to its selected leaf, and
 * a message with siblings offers the other versions (‹ 2/3 ›).
 */
import type { StoredMessage } from './types.ts'

export type MessageMap = Readonly<Record<string, StoredMessage>>

/** Returns the path from the root to `leafId` (empty when it is null or unknown). */
export function pathTo(messages: MessageMap, leafId: string | null): StoredMessage[] {
  const path: StoredMessage[] = []
  const seen = new Set<string>()
  for (let at = leafId === null ? undefined : messages[leafId]; at !== undefined && !seen.has(at.id); at = at.parentId === null ? undefined : messages[at.parentId]) {
    seen.add(at.id)
    path.push(at)
  }
  return path.reverse()
}

/** Returns the ids of the message's versions in order: its parent's children, or the roots. */
export function siblingIdsOf(messages: MessageMap, message: StoredMessage): string[] {
  if (message.parentId !== null) return messages[message.parentId]?.childrenIds ?? [message.id]
  return Object.values(messages).filter((entry) => entry.parentId === null).sort((a, b) => a.timestamp - b.timestamp).map((entry) => entry.id)
}

/** Returns the leaf reached from `id` by always taking the newest child: where a version switch lands. */
export function newestLeafFrom(messages: MessageMap, id: string): string {
  const seen = new Set<string>()
  let at = id
  for (let next = messages[at]?.childrenIds.at(-1); next !== undefined && messages[next] !== undefined && !seen.has(next); next = messages[at]?.childrenIds.at(-1)) {
    seen.add(at)
    at = next
  }
  return at
}

/** Returns the hover text of an answer's statistics (Open WebUI's `usage`): tokens, tokens per second, time. */
export function describeUsage(usage: Readonly<Record<string, unknown>> | undefined): string | null {
  if (usage === undefined) return null
  const number = (key: string) => (typeof usage[key] === 'number' ? usage[key] as number : null)
  const tokens = number('completion_tokens') ?? number('eval_count')
  const perSecond = number('response_token/s')
  const totalNs = number('total_duration')
  const parts = [
    tokens === null ? null : `${tokens} tokens`,
    perSecond === null ? null : `${perSecond.toFixed(1)} tokens/s`,
    totalNs === null ? null : `${(totalNs / 1e9).toFixed(1)} s`,
  ].filter((part) => part !== null)
  return parts.length === 0 ? null : parts.join(' · ')
}
