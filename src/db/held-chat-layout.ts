/**
 * Where a held chat's answer bytes (HeldChatBytes, held-chat-bytes.ts) lie in memory.
 * Each message is first described apart, into bytes of its own; laid out, the entries of
 * `history.messages` stand one after another, a comma between each, in a few buffers (the oldest
 * part in the largest, each later part in one no larger than those before it), and so do the
 * path's messages in others, each message's bytes a view of one. A save's scan (open-webui-chat-scan.ts) then compares long runs
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
import type { MessageId } from './ids.ts'
import type { HeldChatBytes, HeldMessageBytes } from './held-chat-bytes.ts'
import type { MessageBytes } from './open-webui-message-description.ts'

const COMMA = 0x2c
/**
 * Messages described apart (HeldChatBytes' `apart`: described again or added since the bytes were
 * laid out, or removed from amid the others; each breaks at most two runs of the history and two
 * of the path) before the bytes are laid out again: each costs a save's scan a few more compares
 * and its answer a few more parts; laying out copies the bytes from the first of them on (all of
 * them, 2.3 MB each for 2,000 messages of 1 KB, when one is amid the others). A socket turn adds two messages and describes their parent again; a save that leaves
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

/** Where a laid-out message's bytes start in their buffer: its entry's in the history, its text's in the path. */
type StartOf = (bytes: MessageBytes) => number | undefined
const entryStart: StartOf = (bytes) => bytes.at
const textStart: StartOf = (bytes) => bytes.textAt

/**
 * Where the part laid out again starts, `from` or before it: each run of one buffer just before it
 * is laid out again with it while that buffer is no larger than what is laid out again (so a byte
 * is copied again a few times at most as the chat grows, the carries of a binary counter: the
 * buffers before the tail shrink from the oldest, at most ~log2 of them), and a run that goes on
 * past `from` is taken whole, so no message's bytes are held twice.
 */
function tailFrom(length: number, bytesAt: (at: number) => MessageBytes, from: number, startOf: StartOf): number {
  let size = 0
  for (let i = from; i < length; i++) size += bytesAt(i).entry.length + 1
  let start = from
  while (start > 0) {
    const last = bytesAt(start - 1)
    const whole = last.whole
    if (whole === undefined) return 0
    const goesOn = start < length && bytesAt(start).whole === whole && startOf(bytesAt(start)) === last.end! + 1
    if (!goesOn && whole.length > size) break
    let first = start - 1
    while (first > 0 && bytesAt(first - 1).whole === whole && bytesAt(first - 1).end! + 1 === startOf(bytesAt(first))) first--
    size += whole.length + 1
    start = first
  }
  return start
}

/**
 * Where the history's messages described apart (`apart`) begin, when every one of them is among
 * the last entries (a turn's, added at the end, and their parent): found from the end, stopping once
 * all were met (ids are unique); 0 when one is not there (removed from amid the others).
 */
function historyApartFrom(history: readonly HeldMessageBytes[], apart: ReadonlySet<MessageId>): number {
  let left = apart.size
  for (let at = history.length - 1; at >= 0; at--) {
    if (apart.has(history[at]!.message.id) && --left === 0) return at
  }
  return 0
}

/** Where the path's messages not laid out in a path's buffer (`textAt` is their start: a path's buffer holds texts alone) begin, when all are at its end; else 0. */
function pathApartFrom(path: readonly MessageBytes[]): number {
  let from = path.length
  while (from > 0 && !isPathLaidOut(path[from - 1]!)) from--
  for (let i = 0; i < from; i++) if (!isPathLaidOut(path[i]!)) return 0
  return from
}

const isPathLaidOut = (bytes: MessageBytes) => bytes.whole !== undefined && bytes.at === bytes.textAt

/**
 * `held` with its history, and its path, laid out when more than MAX_APART messages were described
 * apart since they were; the same bytes. Only the part from the first message described apart is
 * laid out again, into a buffer of its own, with the buffers just before it no larger than it
 * (tailFrom): a client that only sends turns adds at the end, and laying the whole history and path
 * out again copied 4.6 MB every eighth turn at 2,000 messages of 1 KB. `moved` is told of each
 * message whose history bytes were copied (so what remembers them can keep the copy, not the
 * scattered bytes beside it).
 */
export function laidOut(held: HeldChatBytes, moved: (entry: HeldMessageBytes, made: MessageBytes) => void): HeldChatBytes {
  if (held.apart !== null && held.apart.size <= MAX_APART) return held
  let { history, path } = held
  const historyFrom = held.apart === null ? 0 : tailFrom(history.length, (at) => history[at]!.bytes, historyApartFrom(history, held.apart), entryStart)
  if (history.length > historyFrom) {
    const { whole, starts } = copied(history.slice(historyFrom).map(({ bytes }) => bytes.entry))
    const copies = new Map<MessageBytes, MessageBytes>()
    const entries = history.slice()
    for (let i = historyFrom; i < entries.length; i++) {
      const entry = entries[i]!
      const { entry: bytes, text } = entry.bytes
      const at = starts[i - historyFrom]!
      const end = at + bytes.length
      const made = { entry: whole.subarray(at, end), text: whole.subarray(end - text.length, end), whole, at, textAt: end - text.length, end }
      copies.set(entry.bytes, made)
      moved(entry, made)
      entries[i] = { ...entry, bytes: made }
    }
    history = entries
    if (historyFrom === 0) path = path.map((bytes) => copies.get(bytes) ?? bytes)
  }
  const pathFrom = held.apart === null ? 0 : tailFrom(path.length, (at) => path[at]!, pathApartFrom(path), textStart)
  if (path.length > pathFrom) {
    const { whole, starts } = copied(path.slice(pathFrom).map((bytes) => bytes.text))
    const texts = path.slice()
    // note: a path message's bytes are its text alone (entry is the same view): the path lists messages without their keys.
    for (let i = pathFrom; i < texts.length; i++) {
      const at = starts[i - pathFrom]!
      const text = whole.subarray(at, at + texts[i]!.text.length)
      texts[i] = { entry: text, text, whole, at, textAt: at, end: at + text.length }
    }
    path = texts
  }
  return { ...held, history, path, apart: new Set() }
}
