/**
 * Builds retrieval for one server from its settings and store: the embedder on the first Ollama
 * connection, the extraction worker pool, the index cache (its idle sweep on an unref'd timer), and
 * the account watch that drops a user's decrypted indexes when their access changes (sign-out
 * everywhere, password or role change, deletion).
 */
import type { Permissions } from '../auth/permissions.ts'
import type { SocketHub } from '../chat/socket-hub.ts'
import type { Config } from '../config/load-config.ts'
import type { Store } from '../db/open-store.ts'
import { createEmbedder } from './embedder.ts'
import { createTextExtractor } from './extract-text.ts'
import { createIndexCache } from './index-cache.ts'
import { createReadAgain } from './read-again.ts'
import { processFileForUser, type FileSource, type RagDeps } from './rag-deps.ts'
import { createRetrieval } from './retrieval.ts'

export function createRag(options: { config: Config; store: Store; hub: SocketHub; permissions: Permissions; files: FileSource | null; now: () => number; fetch?: typeof fetch }): RagDeps {
  const { config, store } = options
  const rag = config.rag
  const cache = createIndexCache({ maxBytes: rag.indexMaxBytes, idleMs: rag.indexIdleMs, now: options.now })
  const embedder = createEmbedder({
    baseUrl: config.ollama.urls[0]!, model: rag.embedding.model, batchSize: rag.embedding.batchSize,
    timeoutMs: config.ollama.timeouts.firstByteMs, ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  })
  const retrieval = createRetrieval({ config: rag, documents: store.ragDocuments, embedder, extractor: createTextExtractor(rag.extraction), cache })
  store.accountChanges.subscribe((change) => {
    if (change.kind === 'access') cache.dropOwner(change.userId)
  })
  setInterval(cache.sweepIdle, Math.min(rag.indexIdleMs, 60_000)).unref()
  const deps: RagDeps = { knowledge: store.knowledge, ragDocuments: store.ragDocuments, groups: store.groups, config: rag, retrieval, cache, hub: options.hub, permissions: options.permissions, files: options.files }
  deps.readAgain = createReadAgain(options.files, (owner, fileId) => processFileForUser(deps, owner, fileId))
  return deps
}
