/**
 * pathThrough (which keeps no set of the messages seen while the ids fall) against the walk that
 * checks every step (pathThroughChecked): the same path for any parent links, cycles, missing
 * parents and parents with higher ids included.
 */
import { expect, test } from 'bun:test'
import fc from 'fast-check'
import type { MessageId } from './ids.ts'
import { pathThrough, pathThroughChecked } from './chat-tree.ts'

test('pathThrough gives the checked walk\'s path for any parent links (property)', () => {
  const links = fc.array(fc.option(fc.integer({ min: 0, max: 40 })), { maxLength: 40 })
  fc.assert(fc.property(links, fc.option(fc.integer({ min: 0, max: 45 })), fc.boolean(), (parents, leaf, falling) => {
    // note: half the cases have every parent below its child (the common tree), half any links.
    const messages = parents.map((parent, i) => ({ id: i as MessageId, parentId: parent === null ? null : (falling ? (i === 0 ? null : parent % i) : parent) as MessageId | null }))
    const byId = new Map(messages.map((message) => [message.id, message]))
    const get = (id: MessageId) => byId.get(id)
    const leafId = leaf as MessageId | null
    expect(pathThrough(get, leafId)).toEqual(pathThroughChecked(get, leafId))
  }), { numRuns: 2000 })
})
