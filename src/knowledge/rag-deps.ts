/**
 * What the knowledge and retrieval routes need, built once in prepare-app.ts: the repositories, the
 * retrieval pipeline and its index cache, the socket hub for ingestion progress, the permission
 * check, and where uploaded files are read from (null until a file store is wired in).
 */
import type { Permissions } from '../auth/permissions.ts'
import type { SocketHub } from '../chat/socket-hub.ts'
import type { RagConfig } from '../config/rag-variables.ts'
import type { UserId } from '../db/ids.ts'
import { isDocumentMediaType } from './document-kind.ts'
import type { IndexCache } from './index-cache.ts'
import type { KnowledgeAccessDeps } from './knowledge-access.ts'
import type { ReadAgainOutcome } from './read-again.ts'
import type { IndexResult, Retrieval } from './retrieval.ts'

/** Where retrieval reads uploaded files and writes back what it learnt of them (see file-source.ts). */
export type FileSource = {
  /** The owner's file's detected media type, or null when they have no such file. */
  mediaTypeOf(owner: UserId, fileId: string): Promise<string | null>
  /** The owner's file whole, or null when they have no such file. */
  readFileForUser(owner: UserId, fileId: string): Promise<{ name: string; mediaType: string | null; bytes: Uint8Array } | null>
  /** The owner's file's processing status (`pending`, `processing`, `completed`, `failed`, or null when never processed) and error; null when they have no such file. */
  statusOf(owner: UserId, fileId: string): Promise<{ status: string | null; error: string | null } | null>
  /** Open WebUI's processing status of the file, with its extracted text once done. */
  recordStatus(owner: UserId, fileId: string, status: { status: 'pending' | 'processing' | 'completed' | 'failed'; content?: string; error?: string }): Promise<void>
  /** Notes that a knowledge base lists (or no longer lists) the owner's file. */
  recordKnowledgeUse(owner: UserId, fileId: string, knowledgeId: string, isUsed: boolean): Promise<void>
  forgetKnowledgeUses(knowledgeId: string): Promise<void>
  /**
   * Moves the owner's file to `processing` when `may` allows its status, atomically (one of several
   * concurrent callers wins): the status it had; null when they have no such file, false when `may` refused or another won.
   */
  claimForReading(owner: UserId, fileId: string, may: (status: FileStatus) => boolean): Promise<FileStatus | false | null>
  /** Puts back the status a claim took, when the reading it was for ended without an outcome (it threw, or the file went). */
  releaseReading(owner: UserId, fileId: string, previous: FileStatus): Promise<void>
}

/** A file's processing status and error as stored in its `data` (null when absent). */
export type FileStatus = { status: string | null; error: string | null }

export type RagDeps = KnowledgeAccessDeps & {
  config: RagConfig
  retrieval: Retrieval
  cache: IndexCache
  hub: SocketHub
  permissions: Permissions
  files: FileSource | null
  /** Reads a file with no document again, one reading at a time (read-again.ts; create-rag.ts sets it), for a chat naming it. */
  readAgain?: (owner: UserId, fileId: string) => Promise<ReadAgainOutcome>
}

/**
 * Starts processing an uploaded file when it is a document (images and other files are not
 * retrieval's): marks it `pending` at once, so a client polling its status waits for the outcome.
 */
export async function processUploadedFile(deps: RagDeps, owner: UserId, fileId: string): Promise<IndexResult | null> {
  const mediaType = (await deps.files?.mediaTypeOf(owner, fileId)) ?? null
  if (mediaType === null || !isDocumentMediaType(mediaType)) return null
  await deps.files!.recordStatus(owner, fileId, { status: 'pending' })
  return processFileForUser(deps, owner, fileId)
}

/**
 * Extracts, chunks and embeds one of the owner's files, reporting progress to their sockets as
 * `file:progress` frames; null when the owner has no such file.
 */
export async function processFileForUser(deps: RagDeps, owner: UserId, fileId: string): Promise<IndexResult | null> {
  const files = deps.files
  const file = files === null ? null : await files.readFileForUser(owner, fileId)
  if (files === null || file === null) return null
  await files.recordStatus(owner, fileId, { status: 'processing' })
  const result = await deps.retrieval.indexFile(owner, { fileId, ...file }, (progress) =>
    deps.hub.publish(owner, { type: 'file:progress', fileId, ...progress }))
  if (result.ok) {
    await files.recordStatus(owner, fileId, { status: 'completed', content: result.text })
    deps.hub.publish(owner, { type: 'file:progress', fileId, stage: 'ready', done: result.document.chunkCount, total: result.document.chunkCount })
  } else {
    // note: text read before a later step failed (Ollama away) is kept, as /data/content serves it.
    await files.recordStatus(owner, fileId, { status: 'failed', error: result.reason, ...(result.text === undefined ? {} : { content: result.text }) })
    deps.hub.publish(owner, { type: 'file:progress', fileId, stage: 'failed', reason: result.reason })
  }
  return result
}
