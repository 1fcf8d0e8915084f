/**
 * Retrieval for one chat request: the files and knowledge bases it names (Open WebUI's frontend
 * sends `files: [{ type: 'file' | 'collection', id, ... }]`) are checked for access, the last user
 * message is the question, and the context found goes in front of the messages through the RAG
 * template, as Open WebUI does (prepended to the first system message, or as a new one). Other
 * entries of `files` (images) are not retrieval's and are left to their own handling.
 */
import type { UserId } from '../db/ids.ts'
import type { RagDocument } from '../db/rag-documents.ts'
import type { User } from '../db/users.ts'
import { isDocumentMediaType } from './document-kind.ts'
import { resolveFileReferences, type FileReference, type KnowledgeAccessDeps } from './knowledge-access.ts'
import { contextFrom, fillRagTemplate, sourcesFrom, type Source } from './rag-context.ts'
import type { FileSource } from './rag-deps.ts'
import { mayReadAgain, type ReadAgainOutcome } from './read-again.ts'
import type { Retrieval } from './retrieval.ts'

type ChatMessage = { role: string; content?: unknown }

export type ChatRetrievalDeps = KnowledgeAccessDeps & {
  retrieval: Retrieval
  config: { template: string }
  /** The uploads' processing status, to tell a file not processed from one that is not there. */
  files?: Pick<FileSource, 'statusOf' | 'mediaTypeOf'> | null
  /** Reads one of the owner's files again (extract, chunk, embed), one reading at a time (read-again.ts). */
  readAgain?: (owner: UserId, fileId: string) => Promise<ReadAgainOutcome>
}

/** Why a request's files cannot be used: one is not the asker's (or not there), or one of theirs has no searchable text. */
export type RetrievalRefusal =
  | { ok: false; reason: 'file_not_found' }
  | { ok: false; reason: 'file_not_processed'; fileId: string; status: string; error: string | null }

export type ChatRetrieval<M extends ChatMessage> = { ok: true; messages: M[]; sources: Source[] } | RetrievalRefusal

/** The file and knowledge references among a request's `files`; malformed entries are skipped as Open WebUI skips them. */
export function fileReferencesOf(files: unknown): FileReference[] {
  if (!Array.isArray(files)) return []
  return files.slice(0, 100).flatMap((file): FileReference[] => {
    if (typeof file !== 'object' || file === null) return []
    const { type, id } = file as { type?: unknown; id?: unknown }
    if ((type !== 'file' && type !== 'collection') || typeof id !== 'string' || id === '' || id.length > 128) return []
    return [{ type, id }]
  })
}

/** The text of a message's content: a string, or the text parts of a list. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text' ? String((part as { text?: unknown }).text ?? '') : '')).join('\n')
}

/** What to tell the asker of a refusal: the file and its status, and what to do about it. */
export function refusalMessage(refusal: RetrievalRefusal): string {
  if (refusal.reason === 'file_not_found') return 'A file or knowledge base in the request was not found.'
  const { fileId, status, error } = refusal
  const what = `The file ${fileId} has no searchable text (status ${status}${error === null ? '' : `: ${error}`})`
  if (status === 'pending' || status === 'processing') return `${what}; it is still being read: send the message again once it is ready.`
  switch (error) {
    case 'model_not_found': return `${what}: the embedding model is not in Ollama; pull it (or set RAG_EMBEDDING_MODEL), then send the message again.`
    case 'unreachable': case 'bad_reply': return `${what}: Ollama could not embed it; send the message again when Ollama is back.`
    default: return `${what}: no text could be read from it; send the message without it, or upload a readable document.`
  }
}

/**
 * The document of one of the user's files that has none. A file that was never read, or whose
 * reading failed for a reason that may have passed (the embedding model was missing, Ollama away),
 * is read again now, as a new upload would be, once per request and one reading at a time
 * (read-again.ts); one still being read (`pending`, `processing`) is left to finish, and one that
 * failed for good (no text, unsupported, too large) is refused at once. A refusal says the file's status.
 */
async function processAgain(deps: ChatRetrievalDeps, owner: UserId, fileId: string, mayRead: boolean): Promise<{ ok: true; document: RagDocument } | RetrievalRefusal> {
  const found = (await deps.files?.statusOf(owner, fileId)) ?? null
  if (found === null) return { ok: false, reason: 'file_not_found' }
  const refusal = (status: { status: string | null; error: string | null }): RetrievalRefusal =>
    ({ ok: false, reason: 'file_not_processed', fileId, status: status.status ?? 'not_processed', error: status.error })
  // note: only a document is read (as processUploadedFile decides); an image's data is left as it is.
  const mediaType = (await deps.files?.mediaTypeOf(owner, fileId)) ?? null
  if (!mayRead || !mayReadAgain(found) || mediaType === null || !isDocumentMediaType(mediaType) || deps.readAgain === undefined) return refusal(found)
  const result = await deps.readAgain(owner, fileId)
  if (result === null) return { ok: false, reason: 'file_not_found' }
  if (result === 'busy') return refusal((await deps.files?.statusOf(owner, fileId)) ?? found)
  if (result.ok) return { ok: true, document: result.document }
  return refusal({ status: 'failed', error: result.reason })
}

/**
 * The passages of the referenced documents that best answer `query`, as Open WebUI's `sources`;
 * a refusal when any reference is not the asker's to use, or is a file of theirs with no text to search.
 */
export async function findSources(deps: ChatRetrievalDeps, user: User, references: readonly FileReference[], query: string): Promise<{ ok: true; sources: Source[] } | RetrievalRefusal> {
  if (references.length === 0) return { ok: true, sources: [] }
  const extra: RagDocument[] = []
  let pending = [...references]
  // note: at most one file is read again per request: a second one without a document is refused with its status.
  let mayRead = true
  for (;;) {
    const resolved = await resolveFileReferences(deps, user, pending)
    if (resolved.ok) return { ok: true, sources: sourcesFrom(await deps.retrieval.search([...extra, ...resolved.documents], query)) }
    if (resolved.refused.type !== 'file') return { ok: false, reason: 'file_not_found' }
    const again = await processAgain(deps, user.id as UserId, resolved.refused.id, mayRead)
    if (!again.ok) return again
    mayRead = false
    extra.push(again.document)
    pending = pending.filter((reference) => reference !== resolved.refused)
  }
}

/** The messages with the sources put in through the RAG template: prepended to the first system message, or as a new one. */
export function withRetrievedContext<M extends ChatMessage>(template: string, sources: readonly Source[], query: string, messages: readonly M[]): M[] {
  if (sources.length === 0) return [...messages]
  const prompt = fillRagTemplate(template, contextFrom(sources), query)
  const [first, ...rest] = messages
  if (first?.role === 'system' && typeof first.content === 'string') return [{ ...first, content: `${prompt}\n${first.content}` }, ...rest]
  return [{ role: 'system', content: prompt } as M, ...messages]
}

/** The question of a chat request: the text of its last user message. */
export const questionOf = (messages: readonly ChatMessage[]): string => textOf([...messages].reverse().find((message) => message.role === 'user')?.content)

/** The messages with the retrieved context put in, and the sources it came from; unchanged when nothing is referenced. */
export async function retrieveForChat<M extends ChatMessage>(deps: ChatRetrievalDeps, user: User, references: readonly FileReference[], messages: readonly M[]): Promise<ChatRetrieval<M>> {
  const query = questionOf(messages)
  const found = await findSources(deps, user, references, query)
  if (!found.ok) return found
  return { ok: true, messages: withRetrievedContext(deps.config.template, found.sources, query, messages), sources: found.sources }
}
