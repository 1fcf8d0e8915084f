import { expect, test } from 'bun:test'
import { TurnActivity } from './turn-activity.ts'

test('standAside resolves after a round of the event loop when no turn runs, and waits for the last turn to end', async () => {
  const activity = new TurnActivity()
  const order: string[] = []
  setImmediate(() => order.push('event loop'))
  const idle = activity.standAside().then(() => order.push('stood aside'))
  for (let i = 0; i < 10; i++) await Promise.resolve()
  expect(order).toEqual([])
  await idle
  expect(order).toEqual(['event loop', 'stood aside'])

  activity.begin()
  activity.begin()
  let resolved = false
  const waiting = activity.standAside().then(() => { resolved = true })
  activity.end()
  await Bun.sleep(5)
  expect(resolved).toBe(false)
  expect(activity.running).toBe(1)
  activity.end()
  await waiting
  expect(resolved).toBe(true)
  expect(activity.begun).toBe(2)
  expect(activity.running).toBe(0)
})

test('an end without a begin never makes the count negative', () => {
  const activity = new TurnActivity()
  activity.end()
  expect(activity.running).toBe(0)
})

test('counts the sockets opened, apart from the turns', () => {
  const activity = new TurnActivity()
  expect(activity.socketsOpened).toBe(0)
  activity.socketOpened()
  activity.socketOpened()
  expect(activity.socketsOpened).toBe(2)
  expect(activity.running).toBe(0)
  expect(activity.begun).toBe(0)
})
