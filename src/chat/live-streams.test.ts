import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { ChatId, UserId } from '../db/ids.ts'
import type { ServerFrame } from './frames.ts'
import { LiveStreams } from './live-streams.ts'

const ADA = 'user-ada' as UserId
const BOB = 'user-bob' as UserId
const CHAT = 'chat-1' as ChatId
const KEEP_MS = 60_000

/** A socket that keeps what it was sent, parsed. */
function fakeSocket() {
  const frames: ServerFrame[] = []
  return { frames, send: (text: string) => void frames.push(JSON.parse(text) as ServerFrame) }
}

/** A registry on a clock the test moves. */
function registry() {
  const clock = { time: 1_700_000_000_000 }
  return { clock, streams: new LiveStreams(() => clock.time, KEEP_MS) }
}

const deltasOf = (frames: ServerFrame[]) => frames.flatMap((frame) => (frame.type === 'chat:delta' ? [frame] : []))
const doneFrame = (chatId: string, messageId: string): ServerFrame =>
  ({ type: 'chat:done', chatId, messageId, storedMessageId: 7, storedMessageUid: '7', parentId: '6', cancelled: false, stats: { cancelled: true } })

describe('LiveStreams', () => {
  test('start: a fresh live- id, the user and chat, no deltas, a signal not yet aborted', () => {
    const { streams } = registry()
    const stream = streams.start(ADA, CHAT, [])
    const other = streams.start(ADA, CHAT, [])
    expect(stream.id.startsWith('live-')).toBe(true)
    expect(other.id).not.toBe(stream.id)
    expect([stream.userId, stream.chatId, stream.deltas, stream.signal.aborted]).toEqual([ADA, CHAT, [], false])
  })

  test('appendDelta numbers from 0 and sends each delta once to every watcher, in order', () => {
    const { streams } = registry()
    const [a, b] = [fakeSocket(), fakeSocket()]
    const stream = streams.start(ADA, CHAT, [a, b, a]) // the same socket twice is one watcher
    expect(['Hel', 'lo', ' ', 'wörld 🌍'].map((piece) => streams.appendDelta(stream, piece))).toEqual([0, 1, 2, 3])
    for (const socket of [a, b]) {
      expect(socket.frames).toEqual(['Hel', 'lo', ' ', 'wörld 🌍'].map((content, index) =>
        ({ type: 'chat:delta', chatId: CHAT, messageId: stream.id, index, content })))
    }
    expect(stream.deltas).toEqual(['Hel', 'lo', ' ', 'wörld 🌍'])
  })

  test('send reaches the watchers; after finish nothing more is sent', () => {
    const { streams } = registry()
    const socket = fakeSocket()
    const stream = streams.start(ADA, CHAT, [socket])
    const started: ServerFrame = { type: 'chat:started', chatId: CHAT, userMessageId: 1, parentId: '1', currentId: '1', messageId: stream.id, model: 'm', regenerate: false }
    streams.send(stream, started)
    streams.finish(stream, doneFrame(CHAT, stream.id))
    streams.send(stream, started)
    streams.appendDelta(stream, 'late')
    expect(socket.frames.map((frame) => frame.type)).toEqual(['chat:started', 'chat:done'])
  })

  test('a socket that is not a watcher gets nothing until it resumes', () => {
    const { streams } = registry()
    const late = fakeSocket()
    const stream = streams.start(ADA, CHAT, [])
    streams.appendDelta(stream, 'a')
    expect(late.frames).toEqual([])
  })

  test('resume from an index sends the missed deltas once, in order, then the live ones', () => {
    const { streams } = registry()
    const stream = streams.start(ADA, CHAT, [])
    for (const piece of ['a', 'b', 'c', 'd']) streams.appendDelta(stream, piece)
    const socket = fakeSocket()
    streams.resume(stream, socket, 2)
    streams.appendDelta(stream, 'e')
    streams.finish(stream, doneFrame(CHAT, stream.id))
    expect(deltasOf(socket.frames).map(({ index, content }) => [index, content])).toEqual([[2, 'c'], [3, 'd'], [4, 'e']])
    expect(socket.frames.at(-1)?.type).toBe('chat:done')
  })

  test('resume of a finished stream sends the backlog and the final frame, and does not watch', () => {
    const { streams } = registry()
    const stream = streams.start(ADA, CHAT, [])
    streams.appendDelta(stream, 'a')
    streams.appendDelta(stream, 'b')
    const final = doneFrame(CHAT, stream.id)
    streams.finish(stream, final)
    const socket = fakeSocket()
    streams.resume(stream, socket, 0)
    streams.send(stream, final)
    expect(socket.frames).toEqual([
      { type: 'chat:delta', chatId: CHAT, messageId: stream.id, index: 0, content: 'a' },
      { type: 'chat:delta', chatId: CHAT, messageId: stream.id, index: 1, content: 'b' },
      final,
    ])
  })

  test('resume past the end sends no deltas; a watcher resuming again gets each live delta once', () => {
    const { streams } = registry()
    const socket = fakeSocket()
    const stream = streams.start(ADA, CHAT, [socket])
    streams.appendDelta(stream, 'a')
    streams.resume(stream, socket, 99)
    streams.resume(stream, socket, 1)
    streams.appendDelta(stream, 'b')
    expect(deltasOf(socket.frames).map(({ index }) => index)).toEqual([0, 1])
  })

  test('property: deltas seen before a disconnect plus those after resume are every index exactly once, in order', () => {
    fc.assert(fc.property(
      fc.array(fc.string(), { minLength: 0, maxLength: 30 }), fc.nat(30), fc.nat(30), fc.boolean(),
      (pieces, cutRaw, gapRaw, finishes) => {
        const { streams } = registry()
        const first = fakeSocket()
        const stream = streams.start(ADA, CHAT, [first])
        const cut = Math.min(cutRaw, pieces.length)
        const gap = Math.min(cut + gapRaw, pieces.length)
        pieces.slice(0, cut).forEach((piece) => streams.appendDelta(stream, piece))
        streams.unwatch(first) // the tab closed
        pieces.slice(cut, gap).forEach((piece) => streams.appendDelta(stream, piece))
        const second = fakeSocket()
        streams.resume(stream, second, deltasOf(first.frames).length)
        pieces.slice(gap).forEach((piece) => streams.appendDelta(stream, piece))
        if (finishes) streams.finish(stream, doneFrame(CHAT, stream.id))
        const seen = [...deltasOf(first.frames), ...deltasOf(second.frames)]
        expect(seen.map(({ index }) => index)).toEqual(pieces.map((_, i) => i))
        expect(seen.map(({ content }) => content)).toEqual(pieces)
      },
    ))
  })

  test('unwatch stops sending to a socket', () => {
    const { streams } = registry()
    const [gone, stays] = [fakeSocket(), fakeSocket()]
    const stream = streams.start(ADA, CHAT, [gone, stays])
    streams.unwatch(gone)
    streams.appendDelta(stream, 'a')
    expect([gone.frames.length, stays.frames.length]).toEqual([0, 1])
  })

  test('discard aborts the stream\'s signal, sends nothing, and forgets it', () => {
    const { streams } = registry()
    const socket = fakeSocket()
    const stream = streams.start(ADA, CHAT, [socket])
    expect(streams.countLiveStreamsOfUser(ADA)).toBe(1)
    streams.discard(stream)
    expect([stream.signal.aborted, socket.frames, streams.countLiveStreamsOfUser(ADA), streams.findStreamForUser(ADA, stream.id)]).toEqual([true, [], 0, null])
  })

  test('cancel aborts the signal behind the stream, and only that stream\'s', () => {
    const { streams } = registry()
    const stream = streams.start(ADA, CHAT, [])
    const other = streams.start(ADA, CHAT, [])
    streams.cancel(stream)
    expect([stream.signal.aborted, other.signal.aborted]).toEqual([true, false])
  })

  test('a finished stream is kept for keepFinishedMs, then dropped; a live one is never dropped', () => {
    const { clock, streams } = registry()
    const finished = streams.start(ADA, CHAT, [])
    const live = streams.start(ADA, CHAT, [])
    streams.finish(finished, doneFrame(CHAT, finished.id))
    clock.time += KEEP_MS - 1
    expect(streams.findStreamForUser(ADA, finished.id)).toBe(finished)
    clock.time += 1
    expect(streams.findStreamForUser(ADA, finished.id)).toBeNull()
    clock.time += 10 * KEEP_MS
    expect(streams.findStreamForUser(ADA, live.id)).toBe(live)
  })

  test('countLiveStreamsOfUser counts each user\'s live answers: finish and discard take one off, others\' never count', () => {
    const { streams } = registry()
    const [first, second] = [streams.start(ADA, CHAT, []), streams.start(ADA, CHAT, [])]
    const bobs = streams.start(BOB, CHAT, [])
    expect([streams.countLiveStreamsOfUser(ADA), streams.countLiveStreamsOfUser(BOB)]).toEqual([2, 1])
    streams.finish(first, doneFrame(CHAT, first.id))
    streams.finish(first, doneFrame(CHAT, first.id)) // a second finish changes nothing
    expect(streams.countLiveStreamsOfUser(ADA)).toBe(1)
    streams.discard(second)
    streams.discard(bobs)
    expect([streams.countLiveStreamsOfUser(ADA), streams.countLiveStreamsOfUser(BOB)]).toEqual([0, 0])
  })

  test('a second finish keeps the first final frame, which is what the watchers were sent', () => {
    const { streams } = registry()
    const socket = fakeSocket()
    const stream = streams.start(ADA, CHAT, [socket])
    streams.finish(stream, doneFrame(CHAT, stream.id))
    streams.finish(stream, { type: 'chat:error', chatId: CHAT, messageId: stream.id, code: 'internal_error', message: 'late' })
    const late = fakeSocket()
    streams.resume(stream, late, 0)
    expect([socket.frames.map((frame) => frame.type), late.frames.map((frame) => frame.type)]).toEqual([['chat:done'], ['chat:done']])
  })

  test('finished streams expire in the order they finished, each keepFinishedMs after its own end', () => {
    const { clock, streams } = registry()
    const ended = Array.from({ length: 5 }, () => streams.start(ADA, CHAT, []))
    for (const stream of ended) {
      streams.finish(stream, doneFrame(CHAT, stream.id))
      clock.time += 1_000
    }
    clock.time += KEEP_MS - 5_000 // the first ended KEEP_MS ago, the second KEEP_MS - 1 s ago
    expect(ended.map((stream) => streams.findStreamForUser(ADA, stream.id) !== null)).toEqual([false, true, true, true, true])
    clock.time += 2_000
    expect(ended.map((stream) => streams.findStreamForUser(ADA, stream.id) !== null)).toEqual([false, false, false, true, true])
  })

  test.each([
    ['its owner', ADA, (id: string) => id, true],
    ['another user', BOB, (id: string) => id, false],
    ['an unknown id', ADA, () => 'live-unknown', false],
    ['an empty id', ADA, () => '', false],
    ['a prototype key', ADA, () => '__proto__', false],
    ['the id with a trailing slash', ADA, (id: string) => `${id}/`, false],
  ])('findStreamForUser: %s', (_, user, idOf, isFound) => {
    const { streams } = registry()
    const stream = streams.start(ADA, CHAT, [])
    expect(streams.findStreamForUser(user, idOf(stream.id))).toBe(isFound ? stream : null)
  })

  test('findStreamForUser never returns another user\'s stream, live or finished', () => {
    const { streams } = registry()
    const mine = streams.start(ADA, CHAT, [])
    const theirs = streams.start(BOB, CHAT, [])
    streams.finish(theirs, doneFrame(CHAT, theirs.id))
    expect(streams.findStreamForUser(ADA, theirs.id)).toBeNull()
    expect(streams.findStreamForUser(BOB, mine.id)).toBeNull()
    expect(streams.findStreamForUser(BOB, theirs.id)).toBe(theirs)
  })

  test('listLiveStreams lists a user\'s live answers (or everyone\'s), never finished or discarded ones', () => {
    const { streams } = registry()
    const [ada1, ada2, bob] = [streams.start(ADA, CHAT, []), streams.start(ADA, CHAT, []), streams.start(BOB, CHAT, [])]
    streams.finish(ada2, doneFrame(CHAT, ada2.id))
    expect(streams.listLiveStreams(ADA)).toEqual([ada1])
    expect(streams.listLiveStreams(null)).toEqual([ada1, bob])
    streams.discard(bob)
    expect([streams.listLiveStreams(BOB), streams.listLiveStreams('user-nobody' as UserId)]).toEqual([[], []])
  })

  test('cancel aborts with its reason, which stopReasonOf tells; the first reason stays; a discard has none', () => {
    const { streams } = registry()
    const [running, cancelled, deleted, discarded] = [0, 1, 2, 3].map(() => streams.start(ADA, CHAT, []))
    streams.cancel(cancelled!)
    streams.cancel(deleted!, 'chat_deleted')
    streams.cancel(deleted!, 'revoked')
    streams.discard(discarded!)
    expect([running, cancelled, deleted, discarded].map((stream) => streams.stopReasonOf(stream!))).toEqual([null, 'cancelled', 'chat_deleted', null])
    expect([cancelled, deleted, discarded].every((stream) => stream!.signal.aborted)).toBe(true)
  })
})
