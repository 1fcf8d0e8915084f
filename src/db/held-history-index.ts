/**
 * What an append to a held chat's answer bytes (held-chat-bytes.ts, heldChatBytesAdded)
 * asks of the history it adds to: the highest message id in it, whether a client id is taken, and
 * where the new message's parent is. Kept beside the history, updated in place by each append and
 * each save that removes messages from its end, rather than found by a scan of every held message
 * at each write.
 *
 * Format: a WeakMap from a history array (never changed once made) to its index; an index serves
 * one array only (`history`): updated for a newer array, it no longer answers for the older one,
 * which then has none (the caller scans, as before). Threat: an append placed or refused by an index
 * that differs from its history (a message described under the wrong parent, a taken id taken
 * again); tests compare every index kept with one made afresh from its history.
 */
import type { HeldMessageBytes } from './held-chat-bytes.ts'
import type { MessageId } from './ids.ts'

export type HistoryIndex = {
  /** The history the index describes now. */
  history: readonly HeldMessageBytes[]
  /** Each message's place in `history`, by id. */
  readonly placeOf: Map<MessageId, number>
  readonly uids: Set<string>
  /** The highest id in `history` (0: none). */
  maxId: number
}

const indexes = new WeakMap<readonly HeldMessageBytes[], HistoryIndex>()

/** The index of `history`, when one is kept for it and still describes it; null otherwise. */
export function indexOf(history: readonly HeldMessageBytes[]): HistoryIndex | null {
  const index = indexes.get(history)
  return index !== undefined && index.history === history ? index : null
}

/** The index of `history` made afresh. */
export function indexAfresh(history: readonly HeldMessageBytes[]): HistoryIndex {
  const placeOf = new Map<MessageId, number>()
  const uids = new Set<string>()
  let maxId = 0
  for (let at = 0; at < history.length; at++) {
    const { message } = history[at]!
    placeOf.set(message.id, at)
    uids.add(message.uid)
    if (message.id > maxId) maxId = message.id
  }
  return { history, placeOf, uids, maxId }
}

/** Makes `index` (already updated to describe `history`) the index of `history`, and of nothing before it. */
export function carryIndex(index: HistoryIndex, history: readonly HeldMessageBytes[]): void {
  index.history = history
  indexes.set(history, index)
}
