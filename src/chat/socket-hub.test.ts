import { expect, test } from 'bun:test'
import type { ChatId, UserId } from '../db/ids.ts'
import { LiveStreams } from './live-streams.ts'
import { SocketHub } from './socket-hub.ts'

const ada = 'user-ada' as UserId
const bob = 'user-bob' as UserId
const socket = () => {
  const sent: string[] = []
  return { sent, send: (text: string) => void sent.push(text) }
}

test('publish reaches the user\'s sockets here and is handed to the relay once; nobody else\'s', () => {
  const hub = new SocketHub()
  const relayed: [UserId, string][] = []
  hub.relayTo((userId, text) => void relayed.push([userId, text]))
  const [adaTab, bobTab] = [socket(), socket()]
  hub.join(ada, adaTab)
  hub.join(bob, bobTab)
  hub.publish(ada, { type: 'chat:title', chatId: 'c1', title: 'Hello' })
  expect(adaTab.sent).toEqual(['{"type":"chat:title","chatId":"c1","title":"Hello"}'])
  expect(bobTab.sent).toEqual([])
  expect(relayed).toEqual([[ada, '{"type":"chat:title","chatId":"c1","title":"Hello"}']])
})

test('a frame from another instance reaches the sockets here and is not relayed back', () => {
  const hub = new SocketHub()
  const relayed: string[] = []
  hub.relayTo((_, text) => void relayed.push(text))
  const tab = socket()
  hub.join(ada, tab)
  hub.deliverLocally(ada, '{"type":"chat:changed","chatId":"c1"}')
  hub.deliverLocally(bob, '{"type":"chat:changed","chatId":"c2"}')
  expect(tab.sent).toEqual(['{"type":"chat:changed","chatId":"c1"}'])
  expect(relayed).toEqual([])
})

test('without a relay, publish is what it was: this instance\'s sockets only', () => {
  const hub = new SocketHub()
  const tab = socket()
  hub.join(ada, tab)
  hub.publish(ada, { type: 'x' })
  hub.relay(ada, 'ignored')
  expect(tab.sent).toEqual(['{"type":"x"}'])
})

test('a live stream relays each frame it sends, and nothing once finished', () => {
  const relayed: string[] = []
  const streams = new LiveStreams(() => 0, 60_000, (userId, text) => void relayed.push(`${userId} ${text}`))
  const watcher = socket()
  const stream = streams.start(ada, 'chat-1' as ChatId, [watcher])
  streams.appendDelta(stream, 'Hel')
  streams.finish(stream, { type: 'chat:error', chatId: 'chat-1', messageId: stream.id, code: 'x', message: 'y' })
  streams.appendDelta(stream, 'late')
  expect(watcher.sent).toHaveLength(2)
  expect(relayed).toEqual(watcher.sent.map((text) => `${ada} ${text}`))
})
