/**
 * Reading an upload again when a chat names it and it has no document: only when the earlier
 * failure may have passed (Ollama away, the embedding model not pulled yet: EmbedFailure's reasons),
 * or when it was never read. A failure that would come back the same (no text, an unsupported
 * kind, too large, too many pages, too deep, timed out) is never retried: the chat is refused at
 * once. Threat: the page sends a chat's files with every turn, so without these bounds each turn
 * (and each of several parallel requests) would extract and embed the same file again. One reading
 * at a time per owner and file: in this process, concurrent askers share the one under way; across
 * instances, the move to `processing` is a compare-and-set in the file repository, so one wins and
 * the others see the file as being read.
 */
// note: Open WebUI never reads a file again during a chat: get_sources_from_items
// (backend/open_webui/retrieval/utils.py) queries the file's `file-<id>` collection and, when it
// fails, logs the error and answers without the file. Enclave reads it again only within these bounds.
import type { UserId } from '../db/ids.ts'
import type { EmbedFailure } from './embedder.ts'
import type { FileSource } from './rag-deps.ts'
import type { IndexResult } from './retrieval.ts'

const PASSING_FAILURES: ReadonlySet<string> = new Set<EmbedFailure>(['model_not_found', 'unreachable', 'bad_reply'])

/** What reading again gave: the outcome, `busy` when another reading holds the file, null when the owner has no such file. */
export type ReadAgainOutcome = IndexResult | 'busy' | null

/** Whether a file in this state may be read again: never read, read without a document kept, or failed for a reason that may pass. */
export function mayReadAgain({ status, error }: { status: string | null; error: string | null }): boolean {
  if (status === null || status === 'completed') return true
  return status === 'failed' && error !== null && PASSING_FAILURES.has(error)
}

/** The one-at-a-time reading again of the owner's file, over `process` (processFileForUser). */
export function createReadAgain(files: FileSource | null, process: (owner: UserId, fileId: string) => Promise<IndexResult | null>) {
  const underWay = new Map<string, Promise<ReadAgainOutcome>>()
  return (owner: UserId, fileId: string): Promise<ReadAgainOutcome> => {
    const key = `${owner}\n${fileId}`
    const running = underWay.get(key)
    if (running !== undefined) return running
    const started = (async (): Promise<ReadAgainOutcome> => {
      if (files === null) return null
      const previous = await files.claimForReading(owner, fileId, mayReadAgain)
      if (previous === null) return null
      if (previous === false) return 'busy'
      // note: a reading that ends without an outcome (it threw, or the file went or outgrew the limit
      // meanwhile) puts the status back, so the file is not left `processing` for ever.
      let result: IndexResult | null = null
      try {
        result = await process(owner, fileId)
        return result
      } finally {
        if (result === null) await files.releaseReading(owner, fileId, previous).catch(() => {})
      }
    })().finally(() => underWay.delete(key))
    underWay.set(key, started)
    return started
  }
}
