/**
 * Open WebUI's retrieval routes under /api/v1/retrieval that put documents into the index:
 * `process/file` reads one of the caller's uploaded files (extract, chunk, embed) and
 * `process/text` indexes text given directly, as a document of its own. With `collection_name`
 * naming a knowledge base the caller may write, the document is added to it; a base they may not
 * write is 404, as is another user's file.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { parseKnowledgeId, type Knowledge } from '../../db/knowledge.ts'
import { findKnowledgeFor } from '../../knowledge/knowledge-access.ts'
import { processFileForUser, type RagDeps } from '../../knowledge/rag-deps.ts'
import { requirePermission } from '../permission-gate.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { fileNotFound, indexFailure, knowledgeNotFound } from './knowledge-answers.ts'

const CollectionName = t.Optional(t.Nullable(t.String({ maxLength: 128 })))

export const retrievalRoutes = (auth: AuthDeps, trustedProxies: AddressList, rag: RagDeps) => {
  /** The knowledge base named by `collection_name`, which must be writable by the caller; null when none is named. */
  const collectionFor = async (principal: Principal, raw: string | null | undefined): Promise<Knowledge | null> => {
    if (raw === undefined || raw === null || raw === '' || raw.startsWith('file-')) return null
    const id = parseKnowledgeId(raw)
    const found = id === null ? null : await findKnowledgeFor(rag, principal.user, id, 'write')
    if (found === null) throw knowledgeNotFound()
    return found
  }

  return new Elysia({ prefix: '/api/v1/retrieval' })
    .use(requireAuth(auth, trustedProxies))
    // note: a new document from text is an upload by another road (Open WebUI's knowledge page adds
    // text content as an uploaded .txt file), so it needs chat.file_upload as POST /api/v1/files/ does.
    .post('/process/text', async ({ principal, body }) => {
      await requirePermission(auth.permissions, principal, 'chat.file_upload')
      const collection = await collectionFor(principal, body.collection_name)
      const fileId = crypto.randomUUID()
      const result = await rag.retrieval.indexText(principal.user.id, { fileId, name: body.name, text: body.content })
      if (!result.ok) throw indexFailure(result.reason, rag.config.embedding.model)
      if (collection !== null) await rag.knowledge.setKnowledgeFile(collection.id, fileId, true)
      return { status: true, collection_name: collection?.id ?? `file-${fileId}`, file_id: fileId, chunks: result.document.chunkCount }
    }, {
      auth: 'active',
      body: t.Object({ name: t.String({ minLength: 1, maxLength: 1000 }), content: t.String({ minLength: 1, maxLength: rag.config.extraction.maxChars }), collection_name: CollectionName }, { additionalProperties: true }),
    })

    // note: what the decrypted search indexes hold in memory now, for admins (RAG_INDEX_MAX_MEMORY bounds it).
    .get('/status', () => ({ index: rag.cache.stats(), embedding_model: rag.config.embedding.model }), { auth: 'admin' })

    .post('/process/file', async ({ principal, body }) => {
      const collection = await collectionFor(principal, body.collection_name)
      const result = await processFileForUser(rag, principal.user.id, body.file_id)
      if (result === null) throw fileNotFound()
      if (!result.ok) throw indexFailure(result.reason, rag.config.embedding.model)
      if (collection !== null) await rag.knowledge.setKnowledgeFile(collection.id, body.file_id, true)
      return { status: true, collection_name: collection?.id ?? `file-${body.file_id}`, filename: result.document.name, chunks: result.document.chunkCount }
    }, { auth: 'active', body: t.Object({ file_id: t.String({ minLength: 1, maxLength: 128 }), collection_name: CollectionName }, { additionalProperties: true }) })
}
