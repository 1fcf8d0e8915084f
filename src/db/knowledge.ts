/**
 * Knowledge bases, as Open WebUI keeps them: each belongs to one user, holds a list of file ids and
 * carries a grant (`access_control`, see src/auth/access-control.ts). The name, description and
 * data are sealed under the owner's data key with the base's id in their AAD; the grant is plain,
 * as it names only user and group ids and the server must read it for anyone asking. Lookups by
 * owner put the owner in their WHERE clause; the decision for others is the caller's (hasAccess).
 */
import type { AccessControl } from '../auth/access-control.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const knowledgeTable = sealedTable('knowledge', { name: 'text', description: 'text', data: 'json' })

export type KnowledgeId = string & { readonly brand: 'KnowledgeId' }

export type Knowledge = {
  id: KnowledgeId; userId: UserId; name: string; description: string
  data: Record<string, unknown> | null; accessControl: AccessControl
  fileIds: string[]; createdAt: number; updatedAt: number
}

/** What an update may set; undefined keeps what is stored. */
export type KnowledgeInput = { name?: string; description?: string; data?: Record<string, unknown> | null; accessControl?: AccessControl }

type KnowledgeRow = {
  id: string; user_id: string; name: Uint8Array; description: Uint8Array | null; data: Uint8Array | null
  access_control: string | null; created_at: number; updated_at: number
}

const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Reads a knowledge id from outside input, or null when it can't be one. */
export const parseKnowledgeId = (raw: string): KnowledgeId | null => (idPattern.test(raw) ? (raw as KnowledgeId) : null)

export function createKnowledgeRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number) {
  const toKnowledge = async (row: KnowledgeRow, fileIds: string[]): Promise<Knowledge> => {
    const plain = knowledgeTable.open(row.id, row, await keys.ringFor(row.user_id))
    return {
      id: row.id as KnowledgeId, userId: row.user_id as UserId, name: plain.name!, description: plain.description ?? '',
      data: plain.data as Knowledge['data'], accessControl: JSON.parse(row.access_control ?? 'null') as AccessControl,
      fileIds, createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }

  const find = async (id: KnowledgeId): Promise<Knowledge | null> => {
    const row = await sql.get<KnowledgeRow>('SELECT * FROM knowledge WHERE id = ?', id)
    if (row === null) return null
    const files = await sql.all<{ file_id: string }>('SELECT file_id FROM knowledge_file WHERE knowledge_id = ? ORDER BY created_at, file_id', id)
    return toKnowledge(row, files.map((file) => file.file_id))
  }
  const touch = (id: KnowledgeId) => sql.run('UPDATE knowledge SET updated_at = ? WHERE id = ?', now(), id)

  return {
    /** Creates a knowledge base of the owner, private unless `accessControl` says otherwise. */
    async createKnowledge(owner: UserId, input: KnowledgeInput & { name: string }): Promise<Knowledge> {
      const id = crypto.randomUUID() as KnowledgeId
      const at = now()
      const sealed = knowledgeTable.seal(id, { name: input.name, description: input.description ?? '', data: input.data ?? null }, await keys.ringFor(owner))
      await sql.run('INSERT INTO knowledge (id, user_id, name, description, data, access_control, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        id, owner, sealed.name!, sealed.description, sealed.data, JSON.stringify(input.accessControl === undefined ? {} : input.accessControl), at, at)
      return (await find(id))!
    },
    /** The knowledge base with this id, whoever owns it (the caller decides access), or null. */
    findKnowledge: find,
    /** Every knowledge base, newest first; the caller keeps those the asker may read. */
    async listKnowledge(): Promise<Knowledge[]> {
      // note: two queries for the whole list, not one per base.
      const rows = await sql.all<KnowledgeRow>('SELECT * FROM knowledge ORDER BY updated_at DESC, id')
      const files = new Map<string, string[]>()
      for (const file of await sql.all<{ knowledge_id: string; file_id: string }>('SELECT knowledge_id, file_id FROM knowledge_file ORDER BY created_at, file_id')) {
        const list = files.get(file.knowledge_id)
        if (list === undefined) files.set(file.knowledge_id, [file.file_id])
        else list.push(file.file_id)
      }
      return Promise.all(rows.map((row) => toKnowledge(row, files.get(row.id) ?? [])))
    },
    /** Applies the given fields; null when there is no such base. */
    async updateKnowledge(id: KnowledgeId, input: KnowledgeInput): Promise<Knowledge | null> {
      const stored = await find(id)
      if (stored === null) return null
      const next = { name: input.name ?? stored.name, description: input.description ?? stored.description, data: input.data === undefined ? stored.data : input.data }
      const sealed = knowledgeTable.seal(id, next, await keys.ringFor(stored.userId))
      const access = input.accessControl === undefined ? stored.accessControl : input.accessControl
      await sql.run('UPDATE knowledge SET name = ?, description = ?, data = ?, access_control = ?, updated_at = ? WHERE id = ?', sealed.name!, sealed.description, sealed.data, JSON.stringify(access), now(), id)
      return find(id)
    },
    /** Adds (true) or removes (false) a file id; returns the updated base. */
    async setKnowledgeFile(id: KnowledgeId, fileId: string, present: boolean): Promise<Knowledge | null> {
      await sql.transaction(async () => {
        if (present) await sql.run('INSERT INTO knowledge_file (knowledge_id, file_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', id, fileId, now())
        else await sql.run('DELETE FROM knowledge_file WHERE knowledge_id = ? AND file_id = ?', id, fileId)
        await touch(id)
      })
      return find(id)
    },
    /** Empties the base's file list. */
    async resetKnowledge(id: KnowledgeId): Promise<Knowledge | null> {
      await sql.run('DELETE FROM knowledge_file WHERE knowledge_id = ?', id)
      await touch(id)
      return find(id)
    },
    async deleteKnowledge(id: KnowledgeId): Promise<boolean> {
      return (await sql.run('DELETE FROM knowledge WHERE id = ?', id)).changes > 0
    },
    /** Whether any knowledge base lists this file (such a file outlives the chats that referenced it). */
    async isFileInKnowledge(fileId: string): Promise<boolean> {
      return (await sql.get('SELECT 1 FROM knowledge_file WHERE file_id = ? LIMIT 1', fileId)) !== null
    },
  }
}

export type KnowledgeRepo = ReturnType<typeof createKnowledgeRepo>
