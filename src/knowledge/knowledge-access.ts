/**
 * Who may use which knowledge base and which processed file, decided in one place. A knowledge
 * base is read or written per its grant through the shared hasAccess, with admins held to the same
 * grants (Enclave's privacy default: an admin is another user for private data). A file is usable
 * by its owner only, or through a knowledge base that lists it and that the asker may read. Anything
 * else is `null`, which routes answer 404, so an id's existence is not revealed.
 */
import { hasAccess, type Accessor, type AccessKind } from '../auth/access-control.ts'
import type { GroupRepo } from '../db/groups.ts'
import type { UserId } from '../db/ids.ts'
import type { Knowledge, KnowledgeId, KnowledgeRepo } from '../db/knowledge.ts'
import type { RagDocument, RagDocumentRepo } from '../db/rag-documents.ts'
import type { User } from '../db/users.ts'

export type KnowledgeAccessDeps = { knowledge: KnowledgeRepo; ragDocuments: RagDocumentRepo; groups: GroupRepo }

/** A file or knowledge base a chat message refers to, as Open WebUI's frontend sends it. */
export type FileReference = { type: 'file' | 'collection'; id: string }

const policy = { bypassAdmin: false }

export async function accessorOf(user: User, groups: Pick<GroupRepo, 'groupIdsOfUser'>): Promise<Accessor> {
  return { id: user.id, role: user.role, groupIds: await groups.groupIdsOfUser(user.id as UserId) }
}

/** The knowledge base if `user` may `kind` it, else null. */
export async function findKnowledgeFor(deps: KnowledgeAccessDeps, user: User, id: KnowledgeId, kind: AccessKind): Promise<Knowledge | null> {
  const found = await deps.knowledge.findKnowledge(id)
  if (found === null) return null
  return hasAccess(await accessorOf(user, deps.groups), { ownerId: found.userId, access: found.accessControl }, kind, policy) ? found : null
}

/** Every knowledge base `user` may read, with whether they may write it. */
export async function listKnowledgeFor(deps: KnowledgeAccessDeps, user: User): Promise<{ knowledge: Knowledge; canWrite: boolean }[]> {
  const who = await accessorOf(user, deps.groups)
  return (await deps.knowledge.listKnowledge()).flatMap((knowledge) => {
    const resource = { ownerId: knowledge.userId, access: knowledge.accessControl }
    return hasAccess(who, resource, 'read', policy) ? [{ knowledge, canWrite: hasAccess(who, resource, 'write', policy) }] : []
  })
}

/**
 * The documents a message's files stand for, or the first reference that is not the asker's to
 * use (unknown, another user's, or a file of theirs with no document: not processed yet, or its
 * processing failed): the whole request is then refused, as the caller decides.
 */
export async function resolveFileReferences(deps: KnowledgeAccessDeps, user: User, references: readonly FileReference[]): Promise<{ ok: true; documents: RagDocument[] } | { ok: false; refused: FileReference }> {
  const documents = new Map<string, RagDocument>()
  for (const reference of references) {
    if (reference.type === 'file') {
      const document = await deps.ragDocuments.findDocumentForFile(user.id as UserId, reference.id)
      if (document === null) return { ok: false, refused: reference }
      documents.set(document.id, document)
    } else {
      const knowledge = await findKnowledgeFor(deps, user, reference.id as KnowledgeId, 'read')
      if (knowledge === null) return { ok: false, refused: reference }
      for (const document of await deps.ragDocuments.listDocumentsForFiles(knowledge.fileIds)) documents.set(document.id, document)
    }
  }
  return { ok: true, documents: [...documents.values()] }
}
