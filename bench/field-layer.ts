/**
 * Field layer: seal then open one 1 KB text column through sealedTable, with a real user's key
 * ring, beside the floor it is built on: bare node:crypto AES-256-GCM doing the same job, text in,
 * one stored value (nonce, ciphertext, tag), text out. Also printed: the bare encrypt + decrypt of
 * bytes alone, which skips the UTF-8 conversions and the stored value the layer cannot skip.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { KeyRing } from '../src/db/data-keys.ts'
import { sealedTable } from '../src/db/sealed-table.ts'
import { pairedInterleaved } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'
import { sampleText } from './sample-text.ts'

const OPS_PER_BATCH = 1_000
const BATCHES = { warmups: 5, repetitions: 31 }
const TEXT_BYTES = 1024

export type FieldLayerFigures = {
  layerUsPerOp: number
  /** Bare AES-256-GCM, text in and out through one stored value: the like-for-like floor. */
  rawUsPerOp: number
  /** Bare AES-256-GCM of bytes alone (no UTF-8 either way, no stored value): the earlier floor. */
  rawBytesUsPerOp: number
  /** The median over rounds of the layer's time over the like-for-like raw time in the same round. */
  ratio: number
  /** The same, over the bytes-only raw time. */
  ratioToBytes: number
}

/** Measures microseconds per seal+open through the field layer and through bare AES-256-GCM. */
export function measureFieldLayer(ring: KeyRing): FieldLayerFigures {
  const table = sealedTable('message', { content: 'text' })
  const text = sampleText(TEXT_BYTES, 1)
  const plaintext = Buffer.from(text, 'utf8')
  const rawKey = ring.current.key
  const aad = Buffer.from('2:v17:message7:content5:123451:1') // the shape of the layer's AAD

  let rowId = 0
  const layerBatch = () => {
    for (let i = 0; i < OPS_PER_BATCH; i++) {
      rowId++
      const opened = table.open(rowId, table.seal(rowId, { content: text }, ring), ring)
      if (opened.content!.length !== TEXT_BYTES) throw new Error('field layer returned the wrong text')
    }
  }
  // note: the like-for-like floor. The first row of this figure compared the layer with rawBytesBatch,
  // which never converts text nor puts nonce, ciphertext and tag into one value: those cost 1.5x the
  // bare cipher calls (3 interleaved runs: 3.71 µs against 2.47-2.59), and the layer must do them.
  // Its nonce comes from crypto.getRandomValues, as the layer's does (randomBytes costs ~0.5 µs more).
  const textBuffer = Buffer.alloc(4 * TEXT_BYTES)
  const decoder = new TextDecoder()
  const rawBatch = () => {
    for (let i = 0; i < OPS_PER_BATCH; i++) {
      const nonce = crypto.getRandomValues(new Uint8Array(12))
      const cipher = createCipheriv('aes-256-gcm', rawKey, nonce)
      cipher.setAAD(aad)
      const ciphertext = cipher.update(textBuffer.subarray(0, textBuffer.write(text, 0, 'utf8')))
      cipher.final() // empty for GCM, but it finishes the tag
      const stored = Buffer.allocUnsafe(17 + ciphertext.length + 16)
      stored.writeUInt32BE(ring.current.version, 1) // byte 0 and the key version, as the layer's format
      stored[0] = 1
      stored.set(nonce, 5)
      stored.set(ciphertext, 17)
      stored.set(cipher.getAuthTag(), 17 + ciphertext.length)
      const decipher = createDecipheriv('aes-256-gcm', rawKey, stored.subarray(5, 17))
      decipher.setAAD(aad)
      decipher.setAuthTag(stored.subarray(stored.length - 16))
      const opened = decipher.update(stored.subarray(17, stored.length - 16))
      decipher.final()
      if (decoder.decode(opened).length !== TEXT_BYTES) throw new Error('raw AES-GCM returned the wrong text')
    }
  }
  const rawBytesBatch = () => {
    for (let i = 0; i < OPS_PER_BATCH; i++) {
      const nonce = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', rawKey, nonce)
      cipher.setAAD(aad)
      const ciphertext = cipher.update(plaintext)
      const sealedTail = cipher.final() // empty for GCM, but it finishes the tag
      const decipher = createDecipheriv('aes-256-gcm', rawKey, nonce)
      decipher.setAAD(aad)
      decipher.setAuthTag(cipher.getAuthTag())
      const openedBytes = decipher.update(ciphertext).length + decipher.final().length
      if (sealedTail.length + openedBytes !== TEXT_BYTES) throw new Error('raw AES-GCM returned the wrong length')
    }
  }

  const { medianMs: [rawMs, rawBytesMs, layerMs], ratioToFirst: [, bytesToRaw, ratio] } = pairedInterleaved([rawBatch, rawBytesBatch, layerBatch], BATCHES)
  const perOp = (ms: number | undefined) => (ms! * 1000) / OPS_PER_BATCH
  return { layerUsPerOp: perOp(layerMs), rawUsPerOp: perOp(rawMs), rawBytesUsPerOp: perOp(rawBytesMs), ratio: ratio!, ratioToBytes: ratio! / bytesToRaw! }
}

/**
 * Returns the field layer's row, judged as issue 23 measures it: against bare AES-256-GCM of the bytes
 * alone (≤1.5x). The like-for-like floor (text in and out through one stored value) is printed beside
 * it, since the layer cannot skip what the bytes-only figure skips; it is context, not the target.
 */
export function fieldLayerRows({ layerUsPerOp, rawUsPerOp, rawBytesUsPerOp, ratio, ratioToBytes }: FieldLayerFigures): BenchRow[] {
  return [{
    name: 'layer: field cipher seal+open 1 KB vs raw AES-GCM of the bytes alone',
    figures: [
      `${formatNumber(layerUsPerOp, 1)} µs/op`,
      `${formatNumber(1e6 / layerUsPerOp)} ops/s`,
      `bytes-only raw AES-GCM ${formatNumber(rawBytesUsPerOp, 1)} µs/op, ratio ${formatRatio(ratioToBytes)} (median of ${BATCHES.repetitions} paired rounds)`,
      `like for like (text in/out, one stored value) ${formatNumber(rawUsPerOp, 1)} µs/op, ratio ${formatRatio(ratio)}`,
    ],
    measured: ratioToBytes,
    measuredText: formatRatio(ratioToBytes),
    target: { kind: 'atMost', limit: 1.5, label: '≤1.5x' },
  }]
}
