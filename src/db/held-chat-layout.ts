/**
 * Where a held chat's answer bytes (HeldChatBytes, open-webui-chat-description.ts) lie in memory.
 * Each message is first described apart, into bytes of its own; laid out, the entries of
 * `history.messages` stand one after another, a comma between each, in one buffer, and so do the
 * path's messages in another, each message's bytes a view of it. A save's scan (open-webui-chat-scan.ts) then compares long runs
 * of unchanged messages with one compare, and an answer sends them as a few parts instead of two
 * per message.
 *
 * Threat: a run read as other bytes than its messages' own, so a scan takes as unchanged what
 * differs, or an answer says what the chat does not. Invariant: a run is only views of one buffer,
 * each starting one byte past the one before, that byte a comma: only `laidOut` makes views with a
 * `whole`, copying the messages' own bytes once with a comma between every two, and nothing
 * writes that buffer again. Laid out or not, the bytes are the same (tests
 * compare them with bytes made afresh).
 */
import type { HeldChatBytes, HeldMessageBytes, MessageBytes } from './open-webui-chat-description.ts'

const COMMA = 0x2c
/**
 * Messages described apart (HeldChatBytes' `apart`: described again or added since the bytes were
 * laid out, or removed from amid the others; each breaks at most two runs of the history and two
 * of the path) before the bytes are laid out again: each costs a save's scan a few more compares
 * and its answer a few more parts; laying out copies the bytes (2.3 MB each for 2,000 messages of
 * 1 KB). A socket turn adds two messages and describes their parent again; a save that leaves
 * them out removes them from the end, so a turn and a save leave two apart, not more.
 */
// note: kept as ids, not looked for: walking 2,000 entries for their runs took 0.1-0.2 ms of each of a socket turn's writes.
const MAX_APART = 16

/**
 * How many history entries from `from` (at most `limit`) stand one after another in one buffer, a
 * comma between each: views of the same `whole`, each starting one byte past the one before
 * (only `laidOut` makes views with a `whole`, and it writes a comma between every two).
 */
// note: two loops (history, path) over numbers kept beside the views, without a closure or a read of the buffer: a save's scan and its answer each walk 4,000 of them, mostly not in the cache.
export function laidOutRun(history: readonly HeldMessageBytes[], from: number, limit: number): number {
  const first = history[from]!.bytes
  const whole = first.whole
  if (whole === undefined) return 1
  const most = Math.min(limit, history.length - from)
  let end = first.end!
  let count = 1
  for (; count < most; count++) {
    const next = history[from + count]!.bytes
    if (next.whole !== whole || next.at !== end + 1) break
    end = next.end!
  }
  return count
}

/** The bytes of `count` history entries from `from` that laidOutRun found one after another, the commas between them included. */
export function laidOutBytes(history: readonly HeldMessageBytes[], from: number, count: number): Uint8Array {
  const first = history[from]!.bytes
  return first.whole!.subarray(first.at!, history[from + count - 1]!.bytes.end!)
}

/** laidOutRun for the path's messages (their text, without a key: from `textAt`). */
export function laidOutPathRun(path: readonly MessageBytes[], from: number, limit: number): number {
  const first = path[from]!
  const whole = first.whole
  if (whole === undefined) return 1
  const most = Math.min(limit, path.length - from)
  let end = first.end!
  let count = 1
  for (; count < most; count++) {
    const next = path[from + count]!
    if (next.whole !== whole || next.textAt !== end + 1) break
    end = next.end!
  }
  return count
}

/** laidOutBytes for the path's messages. */
export function laidOutPathBytes(path: readonly MessageBytes[], from: number, count: number): Uint8Array {
  return path[from]!.whole!.subarray(path[from]!.textAt!, path[from + count - 1]!.end!)
}

/** The parts one after another in a new buffer, a comma between each, and where each starts. */
function copied(parts: readonly Uint8Array[]): { whole: Uint8Array; starts: number[] } {
  let total = parts.length - 1
  for (const part of parts) total += part.length
  const whole = Buffer.allocUnsafeSlow(Math.max(total, 0))
  const starts: number[] = new Array(parts.length)
  let at = 0
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) whole[at++] = COMMA
    starts[i] = at
    whole.set(parts[i]!, at)
    at += parts[i]!.length
  }
  return { whole, starts }
}

/**
 * `held` with its history, and its path, each laid out in one buffer when more than MAX_APART
 * messages were described apart since they were; the same bytes. `moved` is told of each message
 * whose history bytes were copied (so what remembers them can keep the copy, not the scattered
 * bytes beside it).
 */
export function laidOut(held: HeldChatBytes, moved: (entry: HeldMessageBytes, made: MessageBytes) => void): HeldChatBytes {
  if (held.apart !== null && held.apart.size <= MAX_APART) return held
  let { history, path } = held
  if (history.length > 0) {
    const { whole, starts } = copied(history.map(({ bytes }) => bytes.entry))
    const copies = new Map<MessageBytes, MessageBytes>()
    history = history.map((entry, i) => {
      const { entry: bytes, text } = entry.bytes
      const at = starts[i]!
      const end = at + bytes.length
      const made = { entry: whole.subarray(at, end), text: whole.subarray(end - text.length, end), whole, at, textAt: end - text.length, end }
      copies.set(entry.bytes, made)
      moved(entry, made)
      return { ...entry, bytes: made }
    })
    path = path.map((bytes) => copies.get(bytes) ?? bytes)
  }
  if (path.length > 0) {
    const { whole, starts } = copied(path.map((bytes) => bytes.text))
    // note: a path message's bytes are its text alone (entry is the same view): the path lists messages without their keys.
    path = path.map((bytes, i) => {
      const at = starts[i]!
      const text = whole.subarray(at, at + bytes.text.length)
      return { entry: text, text, whole, at, textAt: at, end: at + text.length }
    })
  }
  return { ...held, history, path, apart: new Set() }
}
