/**
 * Retrieval for a turn on the chat socket (chat:send, chat:regenerate). The message's documents
 * and knowledge bases go through chat-retrieval.ts's findSources, the one retrieval path, which
 * /api/chat/completions uses too: a file that is not the asker's, or a knowledge base they may not
 * read, is refused as not found. What it finds becomes the turn's `retrieval`: the passages go into
 * the prompt through the RAG template, the sources are stored with the answer. A question keeps
 * its documents and knowledge bases as references (Open WebUI's `files` entries), so a regenerate
 * asks again with the same ones.
 */
import type { ChatMessage } from '../chat/ollama-client.ts'
import type { TurnRequest } from '../chat/turn-place.ts'
import type { KnowledgeId } from '../db/knowledge.ts'
import type { User } from '../db/users.ts'
import { findSources, refusalMessage, withRetrievedContext, type ChatRetrievalDeps } from './chat-retrieval.ts'
import { isDocumentMediaType } from './document-kind.ts'
import { findKnowledgeFor, type FileReference } from './knowledge-access.ts'

/** One entry of chat:send's `files`: a file id, or Open WebUI's `{ type, id }`. */
export type AttachedEntry = string | { type?: 'file' | 'image' | 'collection'; id: string }

/** A knowledge base as the question references it (Open WebUI's `files` entry of type `collection`). */
export type CollectionReference = { type: 'collection'; id: string; name: string }

/** The file ids and the knowledge base ids among a message's entries, each once. */
export function splitAttached(entries: readonly AttachedEntry[]): { fileIds: string[]; knowledgeIds: string[] } {
  const fileIds = new Set<string>()
  const knowledgeIds = new Set<string>()
  for (const entry of entries) {
    if (typeof entry === 'string') fileIds.add(entry)
    else if (entry.type === 'collection') knowledgeIds.add(entry.id)
    else fileIds.add(entry.id)
  }
  return { fileIds: [...fileIds], knowledgeIds: [...knowledgeIds] }
}

/** The references of the knowledge bases the asker may read; null when any is not (unknown, another's, no grant). */
export async function collectionReferences(deps: ChatRetrievalDeps, user: User, ids: readonly string[]): Promise<CollectionReference[] | null> {
  const references: CollectionReference[] = []
  for (const id of ids) {
    const knowledge = await findKnowledgeFor(deps, user, id as KnowledgeId, 'read')
    if (knowledge === null) return null
    references.push({ type: 'collection', id: knowledge.id, name: knowledge.name })
  }
  return references
}

/** What of a question's stored `files` retrieval reads: its documents (not its images) and knowledge bases. */
export function retrievalReferencesOf(files: unknown): FileReference[] {
  if (!Array.isArray(files)) return []
  return files.flatMap((file): FileReference[] => {
    if (typeof file !== 'object' || file === null) return []
    const { type, id, content_type: contentType } = file as { type?: unknown; id?: unknown; content_type?: unknown }
    if (typeof id !== 'string') return []
    if (type === 'collection') return [{ type, id }]
    return type === 'file' && typeof contentType === 'string' && isDocumentMediaType(contentType) ? [{ type, id }] : []
  })
}

export type TurnRetrieval = { ok: true; retrieval: TurnRequest['retrieval'] } | { ok: false; code: 'file_not_found'; message: string }

/** Finds the passages of the referenced documents that answer `question`, as a turn's `retrieval`. */
export async function retrieveForTurn(deps: ChatRetrievalDeps, user: User, references: readonly FileReference[], question: string): Promise<TurnRetrieval> {
  const found = await findSources(deps, user, references, question)
  if (!found.ok) {
    if (found.reason === 'file_not_processed') return { ok: false, code: 'file_not_found', message: refusalMessage(found) }
    return { ok: false, code: 'file_not_found', message: 'A file or knowledge base of the message was not found, or a document is still being read (wait until it is ready).' }
  }
  const { sources } = found
  if (sources.length === 0) return { ok: true, retrieval: undefined }
  return { ok: true, retrieval: { sources, apply: (messages: ChatMessage[]) => withRetrievedContext(deps.config.template, sources, question, messages) } }
}
