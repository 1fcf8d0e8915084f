/**
 * Runs one document through a fresh extraction worker (extract-worker.ts) and waits at most the
 * time limit: past it the worker is terminated and the document refused as `timeout`. A fresh
 * worker per document means nothing one hostile file leaves behind (memory, a stuck loop) reaches
 * the next. At most `concurrency` workers run at once; the others wait their turn.
 */
import type { ExtractionLimits } from '../config/rag-variables.ts'
import type { DocumentKind } from './document-kind.ts'
import type { ExtractionResult } from './extract-formats.ts'

export type { ExtractionFailure, ExtractionResult } from './extract-formats.ts'

// note: in the compiled binary every module shares the bundle's URL (file:///$bunfs/root/enclave) and
// the worker, a second entry point, sits at its path under src/ (scripts/compile-binary.ts).
const workerPath = import.meta.url.includes('/$bunfs/')
  ? new URL('./knowledge/extract-worker.ts', import.meta.url).href
  : new URL('./extract-worker.ts', import.meta.url).href

/** Creates the extractor; `concurrency` bounds the workers alive at once (2 cores: 1 by default). */
export function createTextExtractor(limits: ExtractionLimits, concurrency = 1) {
  let running = 0
  const waiting: (() => void)[] = []

  async function turn(): Promise<() => void> {
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    return () => {
      running--
      waiting.shift()?.()
    }
  }

  return {
    /**
     * Extracts the text of `bytes` as `kind`; a failure names the limit hit, or `unreadable`. With
     * `handOver`, the caller gives up `bytes`: when they fill their own ArrayBuffer it moves to the
     * worker instead of being copied, and reads as empty here afterwards.
     */
    async extract(bytes: Uint8Array, kind: DocumentKind, { handOver = false } = {}): Promise<ExtractionResult> {
      const release = await turn()
      try {
        return await runWorker(bytes, kind, limits, handOver)
      } finally {
        release()
      }
    },
  }
}

export type TextExtractor = ReturnType<typeof createTextExtractor>

function runWorker(bytes: Uint8Array, kind: DocumentKind, limits: ExtractionLimits, handOver: boolean): Promise<ExtractionResult> {
  return new Promise((resolve) => {
    const worker = new Worker(workerPath, { smol: true })
    const finish = (result: ExtractionResult) => {
      clearTimeout(timer)
      worker.terminate()
      resolve(result)
    }
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), limits.timeoutMs)
    worker.onmessage = (event: MessageEvent<ExtractionResult>) => finish(event.data)
    worker.onerror = () => finish({ ok: false, reason: 'unreadable' })
    // note: moved, not copied, when the caller handed over bytes that fill their own buffer (a 100 MB
    // document's reading peaked ~100 MB lower); a view into a shared or pooled buffer is copied.
    const movable = handOver && bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    worker.postMessage({ bytes, kind, limits }, movable ? [bytes.buffer] : [])
  })
}
