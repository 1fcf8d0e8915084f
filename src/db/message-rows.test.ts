import { expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import type { Message } from './chat-tree.ts'
import type { MessageId } from './ids.ts'
import { digestOf } from './message-rows.ts'

/** The digest as first written, with node:crypto's createHmac: the reference stored rows were made with. */
function referenceDigest(rowId: string, message: Message, key: { version: number; key: Uint8Array }): Uint8Array {
  const digestKey = createHmac('sha256', key.key).update('enclave/message-digest/v1').digest()
  const { model, content, images, error, usage, sources, files, extra } = message
  const mac = createHmac('sha256', digestKey).update(rowId).update('\0').update(JSON.stringify([model, content, images, error, usage, sources, files, extra])).digest()
  const digest = new Uint8Array(20)
  new DataView(digest.buffer).setUint32(0, key.version)
  digest.set(mac.subarray(0, 16), 4)
  return digest
}

test('property: a message digest equals the createHmac reference, for any text, fields and key, the keyed state used again', () => {
  // note: versions past one byte and near 2^32, as the digest writes the version byte by byte.
  const keys = [1, 2, 0x01020304, 0xfffffffe].map((version) => ({ version, key: crypto.getRandomValues(new Uint8Array(32)) }))
  const json = fc.option(fc.jsonValue(), { nil: null })
  fc.assert(fc.property(
    fc.constantFrom(...keys), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary', maxLength: 2000 }), fc.option(fc.string(), { nil: null }), json, json, json,
    (key, rowId, content, model, usage, sources, extra) => {
      const message = {
        id: 1 as MessageId, uid: 'u', chatId: 'c', parentId: null, role: 'user', model, content, images: null, artifacts: null, stats: null,
        status: null, error: null, usage, sources, files: null, extra, createdAt: 0,
      } as unknown as Message
      const digest = digestOf(rowId, message, key)
      expect(digest).toEqual(referenceDigest(rowId, message, key))
      // note: the MAC passes through an array reused by every call: a digest handed out before is never changed by the next.
      const kept = Uint8Array.from(digest)
      digestOf(`${rowId}x`, message, key)
      expect(digest).toEqual(kept)
    }), { numRuns: 500 })
})
