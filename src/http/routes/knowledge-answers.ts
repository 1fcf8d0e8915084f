/**
 * How knowledge bases and ingestion results are answered: Open WebUI's response shapes (times in
 * seconds), its two ways of sending a grant (`access_control`, and the newer `access_grants` list),
 * and one HttpError per reason a document could not be indexed.
 */
import { t } from 'elysia'
import type { AccessControl } from '../../auth/access-control.ts'
import type { Knowledge } from '../../db/knowledge.ts'
import type { RagDocument } from '../../db/rag-documents.ts'
import type { IndexFailure } from '../../knowledge/retrieval.ts'
import { HttpError } from '../http-error.ts'

const Ids = t.Array(t.String({ maxLength: 128 }), { maxItems: 1000 })
const Grant = t.Object({ group_ids: t.Optional(Ids), user_ids: t.Optional(Ids) })
export const AccessControlField = t.Optional(t.Nullable(t.Object({ read: t.Optional(Grant), write: t.Optional(Grant) })))
export const AccessGrantsField = t.Optional(t.Nullable(t.Array(t.Object({
  principal_type: t.Union([t.Literal('user'), t.Literal('group')]),
  principal_id: t.String({ minLength: 1, maxLength: 128 }),
  permission: t.Union([t.Literal('read'), t.Literal('write')]),
}, { additionalProperties: true }), { maxItems: 1000 })))

type GrantEntry = { principal_type: 'user' | 'group'; principal_id: string; permission: 'read' | 'write' }
type LooseGrant = { group_ids?: string[] | undefined; user_ids?: string[] | undefined }
type LooseAccess = { read?: LooseGrant | undefined; write?: LooseGrant | undefined } | null

const fullGrant = (grant: LooseGrant | undefined) => ({ group_ids: grant?.group_ids ?? [], user_ids: grant?.user_ids ?? [] })

/**
 * The grant a request asks for: `access_control` as given (null is public), else the `access_grants`
 * list (a user `*` is public read), else `fallback`.
 */
export function accessControlOf(body: { access_control?: LooseAccess | undefined; access_grants?: GrantEntry[] | null | undefined }, fallback: AccessControl | undefined): AccessControl | undefined {
  const given = body.access_control
  if (given !== undefined) return given === null ? null : { read: fullGrant(given.read), write: fullGrant(given.write) }
  if (body.access_grants === undefined || body.access_grants === null) return fallback
  const grants = body.access_grants
  if (grants.some((grant) => grant.principal_type === 'user' && grant.principal_id === '*' && grant.permission === 'read')) return null
  const pick = (permission: 'read' | 'write', type: 'user' | 'group') =>
    grants.filter((grant) => grant.permission === permission && grant.principal_type === type && grant.principal_id !== '*').map((grant) => grant.principal_id)
  return {
    read: { group_ids: pick('read', 'group'), user_ids: pick('read', 'user') },
    write: { group_ids: pick('write', 'group'), user_ids: pick('write', 'user') },
  }
}

const seconds = (ms: number) => Math.floor(ms / 1000)

/** A file of a knowledge base as Open WebUI lists it. */
export const describeKnowledgeFile = (document: RagDocument) => ({
  id: document.fileId ?? document.id, user_id: document.userId, filename: document.name,
  meta: { name: document.name, collection_name: null, chunks: document.chunkCount, embedding_model: document.model },
  created_at: seconds(document.createdAt), updated_at: seconds(document.createdAt),
})

/** A knowledge base as Open WebUI answers it; `files` when the route lists them. */
export function describeKnowledge(knowledge: Knowledge, extra: { writeAccess?: boolean; files?: RagDocument[] } = {}) {
  return {
    id: knowledge.id, user_id: knowledge.userId, name: knowledge.name, description: knowledge.description,
    data: { ...knowledge.data, file_ids: knowledge.fileIds }, meta: null, access_control: knowledge.accessControl,
    created_at: seconds(knowledge.createdAt), updated_at: seconds(knowledge.updatedAt),
    ...(extra.writeAccess === undefined ? {} : { write_access: extra.writeAccess }),
    ...(extra.files === undefined ? {} : { files: extra.files.map(describeKnowledgeFile) }),
  }
}

export const knowledgeNotFound = () => new HttpError(404, 'knowledge_not_found', 'Knowledge base not found.')
export const fileNotFound = () => new HttpError(404, 'file_not_found', 'File not found.')

/** The refusal for a document that could not be indexed, naming the limit or the failing step. */
export function indexFailure(reason: IndexFailure, model: string): HttpError {
  switch (reason) {
    case 'unsupported': return new HttpError(400, 'file_unsupported', 'This kind of file cannot be read: send text, Markdown, HTML, CSV, JSON, PDF or DOCX.')
    case 'unreadable': return new HttpError(400, 'file_unreadable', 'The file is damaged or not what its type says; no text could be read from it.')
    case 'too_many_pages': return new HttpError(400, 'file_too_many_pages', 'The PDF has more pages than allowed (RAG_EXTRACT_MAX_PAGES).')
    case 'too_large': return new HttpError(400, 'file_too_large', 'The document unpacks to more text or bytes than allowed (RAG_EXTRACT_MAX_CHARS, RAG_EXTRACT_MAX_DECOMPRESSED).')
    case 'too_deep': return new HttpError(400, 'file_too_deep', 'The document is nested deeper than allowed.')
    case 'timeout': return new HttpError(400, 'file_timeout', 'Reading the document took longer than allowed (RAG_EXTRACT_TIMEOUT).')
    case 'empty': return new HttpError(400, 'file_empty', 'The document has no text to index.')
    case 'model_not_found': return new HttpError(400, 'embedding_model_not_found', `The embedding model ${model} is not in Ollama: pull it, or set RAG_EMBEDDING_MODEL.`)
    case 'unreachable': return new HttpError(502, 'ollama_unreachable', 'Ollama is not reachable for embeddings.')
    case 'bad_reply': return new HttpError(502, 'ollama_failed', 'Ollama sent an unexpected answer for embeddings.')
  }
}
