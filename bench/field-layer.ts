/**
 * Field layer: seal then open one 1 KB text column through sealedTable, with a real user's key
 * ring, beside the floor it is built on, a bare AES-256-GCM encrypt + decrypt of the same bytes.
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
  rawUsPerOp: number
  /** The median over rounds of the layer's time over the raw time in the same round. */
  ratio: number
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
  const rawBatch = () => {
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

  const { medianMs: [rawMs, layerMs], ratioToFirst: [, ratio] } = pairedInterleaved([rawBatch, layerBatch], BATCHES)
  return { layerUsPerOp: (layerMs! * 1000) / OPS_PER_BATCH, rawUsPerOp: (rawMs! * 1000) / OPS_PER_BATCH, ratio: ratio! }
}

/** Returns the field layer's row: its cost, the raw cost and their ratio against ≤1.5x. */
export function fieldLayerRows({ layerUsPerOp, rawUsPerOp, ratio }: FieldLayerFigures): BenchRow[] {
  return [{
    name: 'layer: field cipher seal+open 1 KB vs raw AES-GCM',
    figures: [
      `${formatNumber(layerUsPerOp, 1)} µs/op`,
      `${formatNumber(1e6 / layerUsPerOp)} ops/s`,
      `raw AES-GCM ${formatNumber(rawUsPerOp, 1)} µs/op`,
      `ratio ${formatRatio(ratio)} (median of ${BATCHES.repetitions} paired rounds)`,
    ],
    measured: ratio,
    measuredText: formatRatio(ratio),
    target: { kind: 'atMost', limit: 1.5, label: '≤1.5x' },
  }]
}
