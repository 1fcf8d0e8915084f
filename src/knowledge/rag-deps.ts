/**
 * What the knowledge and retrieval routes need, built once in create-app.ts: the repositories, the
 * retrieval pipeline and its index cache, the socket hub for ingestion progress, the permission
 * check, and where uploaded files are read from (null until a file store is wired in).
 */
import type { Permissions } from '../auth/permissions-stub-knowledge.ts'
import type { SocketHub } from '../chat/socket-hub.ts'
import type { RagConfig } from '../config/rag-variables.ts'
import type { UserId } from '../db/ids.ts'
import type { IndexCache } from './index-cache.ts'
import type { KnowledgeAccessDeps } from './knowledge-access.ts'
import type { IndexResult, Retrieval } from './retrieval.ts'

/** Reads one of the owner's uploaded files whole, or null when they have no such file. */
export type FileSource = { readFileForUser(owner: UserId, fileId: string): Promise<{ name: string; mediaType: string | null; bytes: Uint8Array } | null> }

export type RagDeps = KnowledgeAccessDeps & {
  config: RagConfig
  retrieval: Retrieval
  cache: IndexCache
  hub: SocketHub
  permissions: Permissions
  files: FileSource | null
}

/**
 * Extracts, chunks and embeds one of the owner's files, reporting progress to their sockets as
 * `file:progress` frames; null when the owner has no such file.
 */
export async function processFileForUser(deps: RagDeps, owner: UserId, fileId: string): Promise<IndexResult | null> {
  const file = deps.files === null ? null : await deps.files.readFileForUser(owner, fileId)
  if (file === null) return null
  const result = await deps.retrieval.indexFile(owner, { fileId, ...file }, (progress) =>
    deps.hub.publish(owner, { type: 'file:progress', fileId, ...progress }))
  deps.hub.publish(owner, result.ok
    ? { type: 'file:progress', fileId, stage: 'ready', done: result.document.chunkCount, total: result.document.chunkCount }
    : { type: 'file:progress', fileId, stage: 'failed', reason: result.reason })
  return result
}
