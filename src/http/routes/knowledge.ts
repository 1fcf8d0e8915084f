/**
 * Open WebUI's knowledge base routes under /api/v1/knowledge, as its frontend calls them
 * (src/lib/apis/knowledge/index.ts): create, list, search, search the files of every readable base, get, list its files, update (and its grant alone: access/update), add, add many
 * (files/batch/add), re-read (file/update) and remove a file, reset, delete. Reading follows the base's grant (hasAccess, admins included); changing it needs
 * write access. A base the asker may not read, or an id that is malformed or unknown, is 404 alike;
 * a file added must be the asker's own, and is read, chunked and embedded first if it was not yet.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { parseKnowledgeId, type Knowledge } from '../../db/knowledge.ts'
import { findKnowledgeFor, listKnowledgeFor } from '../../knowledge/knowledge-access.ts'
import { processFileForUser, type RagDeps } from '../../knowledge/rag-deps.ts'
import { HttpError } from '../http-error.ts'
import { refusePublicUnlessPermitted } from '../permission-gate.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { AccessControlField, AccessGrantsField, accessControlOf, describeKnowledge, describeKnowledgeFile, fileNotFound, indexFailure, knowledgeNotFound } from './knowledge-answers.ts'

const Name = t.String({ minLength: 1, maxLength: 1000 })
const Description = t.String({ maxLength: 100_000 })
const Data = t.Optional(t.Nullable(t.Object({}, { additionalProperties: true })))
const CreateBody = t.Object({ name: Name, description: t.Optional(Description), data: Data, access_control: AccessControlField, access_grants: AccessGrantsField })
const UpdateBody = t.Object({ name: t.Optional(Name), description: t.Optional(Description), data: Data, access_control: AccessControlField, access_grants: AccessGrantsField })
const FileBody = t.Object({ file_id: t.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: true })
const AccessBody = t.Object({ access_grants: AccessGrantsField }, { additionalProperties: true })
const BatchBody = t.Array(FileBody, { minItems: 1, maxItems: 100 })
const Params = t.Object({ id: t.String() })
const ListQuery = t.Object({ page: t.Optional(Numeric({ minimum: 1, maximum: 100_000 })), query: t.Optional(t.String({ maxLength: 1000 })) }, { additionalProperties: true })

const PAGE_SIZE = 30
/** The permission that lets a user make a knowledge base public (Open WebUI's USER_PERMISSIONS sharing.public_knowledge). */
const PUBLIC_KNOWLEDGE = 'sharing.public_knowledge'

// note: Elysia's normalisation would turn a string or a list into {} (a private grant) before validation;
// a grant is an object or null. Run as a macro's transform, after the `auth` check (see routes/folders.ts).
const refuseMalformedGrant = ({ body }: { body: unknown }) => {
  const grant = (body as { access_control?: unknown } | null)?.access_control
  if (grant !== undefined && grant !== null && (typeof grant !== 'object' || Array.isArray(grant))) {
    throw new HttpError(422, 'invalid_request', 'The request is not in the expected shape.')
  }
}

export const knowledgeRoutes = (auth: AuthDeps, trustedProxies: AddressList, rag: RagDeps) => {
  const requirePermission = async (principal: Principal) => {
    if (!await rag.permissions.has(principal, 'workspace.knowledge')) throw new HttpError(401, 'not_permitted', 'You do not have permission to use knowledge bases.')
  }
  /** The base if the principal may `kind` it; 404 otherwise. */
  const knowledgeFor = async (principal: Principal, raw: string, kind: 'read' | 'write'): Promise<Knowledge> => {
    const id = parseKnowledgeId(raw)
    const found = id === null ? null : await findKnowledgeFor(rag, principal.user, id, kind)
    if (found === null) throw knowledgeNotFound()
    return found
  }
  const withFiles = async (knowledge: Knowledge, writeAccess?: boolean) =>
    describeKnowledge(knowledge, { files: await rag.ragDocuments.listDocumentsForFiles(knowledge.fileIds), ...(writeAccess === undefined ? {} : { writeAccess }) })
  const listPage = async (principal: Principal, page: number, query: string | undefined) => {
    const needle = query?.trim().toLowerCase() ?? ''
    const all = (await listKnowledgeFor(rag, principal.user))
      .filter(({ knowledge }) => needle === '' || knowledge.name.toLowerCase().includes(needle) || knowledge.description.toLowerCase().includes(needle))
    return {
      items: all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map(({ knowledge, canWrite }) => describeKnowledge(knowledge, { writeAccess: canWrite })),
      total: all.length,
    }
  }

  return new Elysia({ prefix: '/api/v1/knowledge' })
    .use(requireAuth(auth, trustedProxies))
    .macro({ plainGrant: (isRequired: boolean) => (isRequired ? { transform: refuseMalformedGrant } : {}) })
    .post('/create', async ({ principal, body }) => {
      await requirePermission(principal)
      const accessControl = accessControlOf(body, {})
      // note: as Open WebUI (routers/knowledge.py, filter_allowed_access_grants), public needs sharing.public_knowledge.
      await refusePublicUnlessPermitted(rag.permissions, principal, PUBLIC_KNOWLEDGE, accessControl)
      const created = await rag.knowledge.createKnowledge(principal.user.id, {
        name: body.name, description: body.description ?? '', data: body.data ?? null, accessControl,
      })
      return describeKnowledge(created, { files: [] })
    }, { auth: 'active', body: CreateBody, plainGrant: true })

    .get('/', ({ principal, query }) => listPage(principal, query.page ?? 1, undefined), { auth: 'active', query: ListQuery })
    .get('/search', ({ principal, query }) => listPage(principal, query.page ?? 1, query.query), { auth: 'active', query: ListQuery })
    // note: the files of every base the caller may read, each with its base as `collection`, by name (Open WebUI's `#` menu, searchKnowledgeFiles).
    .get('/search/files', async ({ principal, query }) => {
      const needle = query.query?.trim().toLowerCase() ?? ''
      const found: unknown[] = []
      for (const { knowledge } of await listKnowledgeFor(rag, principal.user)) {
        for (const document of await rag.ragDocuments.listDocumentsForFiles(knowledge.fileIds)) {
          if (needle === '' || document.name.toLowerCase().includes(needle)) found.push({ ...describeKnowledgeFile(document), collection: describeKnowledge(knowledge) })
        }
      }
      const page = query.page ?? 1
      return { items: found.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), total: found.length }
    }, { auth: 'active', query: ListQuery })

    .get('/:id', async ({ principal, params }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'read')
      return withFiles(knowledge, (await findKnowledgeFor(rag, principal.user, knowledge.id, 'write')) !== null)
    }, { auth: 'active', params: Params })

    // note: the files of a base, a page at a time, as Open WebUI's knowledge page lists them (searchKnowledgeFilesById).
    .get('/:id/files', async ({ principal, params, query }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'read')
      const needle = query.query?.trim().toLowerCase() ?? ''
      const files = (await rag.ragDocuments.listDocumentsForFiles(knowledge.fileIds)).filter((document) => needle === '' || document.name.toLowerCase().includes(needle))
      const page = query.page ?? 1
      return { items: files.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map(describeKnowledgeFile), total: files.length }
    }, { auth: 'active', params: Params, query: ListQuery })

    .post('/:id/update', async ({ principal, params, body }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      // note: only the owner changes who else may see the base, as in Open WebUI.
      const access = accessControlOf(body, undefined)
      if (access !== undefined && knowledge.userId !== principal.user.id) throw knowledgeNotFound()
      if (knowledge.accessControl !== null) await refusePublicUnlessPermitted(rag.permissions, principal, PUBLIC_KNOWLEDGE, access)
      const updated = await rag.knowledge.updateKnowledge(knowledge.id, { name: body.name, description: body.description, data: body.data, accessControl: access })
      return withFiles(updated!)
    }, { auth: 'active', params: Params, body: UpdateBody, plainGrant: true })

    // note: Open WebUI's grant-only update; as with /update, only the owner changes who else may see the base.
    .post('/:id/access/update', async ({ principal, params, body }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      if (knowledge.userId !== principal.user.id) throw knowledgeNotFound()
      if (body.access_grants === undefined || body.access_grants === null) throw new HttpError(422, 'invalid_request', 'The request is not in the expected shape: access_grants is a list.')
      const access = accessControlOf(body, undefined)
      if (knowledge.accessControl !== null) await refusePublicUnlessPermitted(rag.permissions, principal, PUBLIC_KNOWLEDGE, access)
      return withFiles((await rag.knowledge.updateKnowledge(knowledge.id, { accessControl: access }))!)
    }, { auth: 'active', params: Params, body: AccessBody })

    .post('/:id/file/add', async ({ principal, params, body }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      const owner = principal.user.id
      if (await rag.ragDocuments.findDocumentForFile(owner, body.file_id) === null) {
        const processed = await processFileForUser(rag, owner, body.file_id)
        if (processed === null) throw fileNotFound()
        if (!processed.ok) throw indexFailure(processed.reason, rag.config.embedding.model)
      }
      await rag.files?.recordKnowledgeUse(owner, body.file_id, knowledge.id, true)
      return withFiles((await rag.knowledge.setKnowledgeFile(knowledge.id, body.file_id, true))!)
    }, { auth: 'active', params: Params, body: FileBody })

    // note: Open WebUI's batch: every file must be the caller's own, or nothing is added (404); those that
    // cannot be read are left out and named in `warnings`, the others added.
    .post('/:id/files/batch/add', async ({ principal, params, body }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      const owner = principal.user.id
      const fileIds = [...new Set(body.map((entry) => entry.file_id))]
      for (const id of fileIds) if (await rag.files?.mediaTypeOf(owner, id) == null) throw fileNotFound()
      const errors: string[] = []
      for (const fileId of fileIds) {
        if (await rag.ragDocuments.findDocumentForFile(owner, fileId) === null) {
          const processed = await processFileForUser(rag, owner, fileId)
          if (processed === null || !processed.ok) {
            errors.push(`${fileId}: ${processed === null ? 'not found' : indexFailure(processed.reason, rag.config.embedding.model).message}`)
            continue
          }
        }
        await rag.files?.recordKnowledgeUse(owner, fileId, knowledge.id, true)
        await rag.knowledge.setKnowledgeFile(knowledge.id, fileId, true)
      }
      const answer = await withFiles((await rag.knowledge.findKnowledge(knowledge.id))!)
      return errors.length === 0 ? answer : { ...answer, warnings: { message: 'Some files failed to process', errors } }
    }, { auth: 'active', params: Params, body: BatchBody })

    // note: reads a file of the base again (its content changed, or a new embedding model): the caller's own files only.
    .post('/:id/file/update', async ({ principal, params, body }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      if (!knowledge.fileIds.includes(body.file_id)) throw fileNotFound()
      const processed = await processFileForUser(rag, principal.user.id, body.file_id)
      if (processed === null) throw fileNotFound()
      if (!processed.ok) throw indexFailure(processed.reason, rag.config.embedding.model)
      return withFiles((await rag.knowledge.findKnowledge(knowledge.id))!)
    }, { auth: 'active', params: Params, body: FileBody })

    .post('/:id/file/remove', async ({ principal, params, body }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      if (!knowledge.fileIds.includes(body.file_id)) throw fileNotFound()
      for (const document of await rag.ragDocuments.listDocumentsForFiles([body.file_id])) await rag.files?.recordKnowledgeUse(document.userId, body.file_id, knowledge.id, false)
      return withFiles((await rag.knowledge.setKnowledgeFile(knowledge.id, body.file_id, false))!)
    }, { auth: 'active', params: Params, body: FileBody })

    .post('/:id/reset', async ({ principal, params }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      for (const document of await rag.ragDocuments.listDocumentsForFiles(knowledge.fileIds)) rag.cache.dropDocument(document.id)
      await rag.files?.forgetKnowledgeUses(knowledge.id)
      return withFiles((await rag.knowledge.resetKnowledge(knowledge.id))!)
    }, { auth: 'active', params: Params })

    .delete('/:id/delete', async ({ principal, params }) => {
      const knowledge = await knowledgeFor(principal, params.id, 'write')
      for (const document of await rag.ragDocuments.listDocumentsForFiles(knowledge.fileIds)) rag.cache.dropDocument(document.id)
      await rag.files?.forgetKnowledgeUses(knowledge.id)
      return rag.knowledge.deleteKnowledge(knowledge.id)
    }, { auth: 'active', params: Params })
}
