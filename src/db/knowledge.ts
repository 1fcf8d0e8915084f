/**
 * Knowledge bases, as Open WebUI keeps them: each belongs to one user, holds a list of file ids and
 * carries a grant (`access_control`, see src/auth/access-control.ts). The name, description and
 * data are sealed under the owner's data key with the base's id in their AAD; the grant is plain,
 * as it names only user and group ids and the server must read it for anyone asking. Lookups by
 * owner put the owner in their WHERE clause; the decision for others is the caller's (hasAccess).
 */
import type { Database } from 'bun:sqlite'
import type { AccessControl } from '../auth/access-control.ts'
import type { DataKeyRepo } from './data-keys.ts'
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

export function createKnowledgeRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const insert = db.query<void, [string, string, Uint8Array, Uint8Array | null, Uint8Array | null, string, number, number]>(
    'INSERT INTO knowledge (id, user_id, name, description, data, access_control, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  const selectById = db.query<KnowledgeRow, [string]>('SELECT * FROM knowledge WHERE id = ?')
  const selectAll = db.query<KnowledgeRow, []>('SELECT * FROM knowledge ORDER BY updated_at DESC, id')
  const update = db.query<void, [Uint8Array, Uint8Array | null, Uint8Array | null, string, number, string]>(
    'UPDATE knowledge SET name = ?, description = ?, data = ?, access_control = ?, updated_at = ? WHERE id = ?')
  const touch = db.query<void, [number, string]>('UPDATE knowledge SET updated_at = ? WHERE id = ?')
  const remove = db.query<void, [string]>('DELETE FROM knowledge WHERE id = ?')
  const selectFiles = db.query<{ file_id: string }, [string]>('SELECT file_id FROM knowledge_file WHERE knowledge_id = ? ORDER BY created_at, file_id')
  const insertFile = db.query<void, [string, string, number]>('INSERT OR IGNORE INTO knowledge_file (knowledge_id, file_id, created_at) VALUES (?, ?, ?)')
  const removeFile = db.query<void, [string, string]>('DELETE FROM knowledge_file WHERE knowledge_id = ? AND file_id = ?')
  const removeFiles = db.query<void, [string]>('DELETE FROM knowledge_file WHERE knowledge_id = ?')
  const countUses = db.query<{ n: number }, [string]>('SELECT count(*) AS n FROM knowledge_file WHERE file_id = ?')

  const toKnowledge = (row: KnowledgeRow): Knowledge => {
    const plain = knowledgeTable.open(row.id, row, keys.keysForOwner(row.user_id))
    return {
      id: row.id as KnowledgeId, userId: row.user_id as UserId, name: plain.name!, description: plain.description ?? '',
      data: plain.data as Knowledge['data'], accessControl: JSON.parse(row.access_control ?? 'null') as AccessControl,
      fileIds: selectFiles.all(row.id).map((file) => file.file_id), createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }

  const find = (id: KnowledgeId): Knowledge | null => {
    const row = selectById.get(id)
    return row === null ? null : toKnowledge(row)
  }

  return {
    /** Creates a knowledge base of the owner, private unless `accessControl` says otherwise. */
    createKnowledge(owner: UserId, input: KnowledgeInput & { name: string }): Knowledge {
      const id = crypto.randomUUID()
      const at = now()
      const sealed = knowledgeTable.seal(id, { name: input.name, description: input.description ?? '', data: input.data ?? null }, keys.keysForOwner(owner))
      insert.run(id, owner, sealed.name!, sealed.description, sealed.data, JSON.stringify(input.accessControl === undefined ? {} : input.accessControl), at, at)
      return toKnowledge(selectById.get(id)!)
    },
    /** The knowledge base with this id, whoever owns it (the caller decides access), or null. */
    findKnowledge: find,
    /** Every knowledge base, newest first; the caller keeps those the asker may read. */
    listKnowledge(): Knowledge[] {
      return selectAll.all().map(toKnowledge)
    },
    /** Applies the given fields; null when there is no such base. */
    updateKnowledge(id: KnowledgeId, input: KnowledgeInput): Knowledge | null {
      const stored = find(id)
      if (stored === null) return null
      const next = { name: input.name ?? stored.name, description: input.description ?? stored.description, data: input.data === undefined ? stored.data : input.data }
      const sealed = knowledgeTable.seal(id, next, keys.keysForOwner(stored.userId))
      const access = input.accessControl === undefined ? stored.accessControl : input.accessControl
      update.run(sealed.name!, sealed.description, sealed.data, JSON.stringify(access), now(), id)
      return find(id)
    },
    /** Adds (true) or removes (false) a file id; returns the updated base. */
    setKnowledgeFile(id: KnowledgeId, fileId: string, present: boolean): Knowledge | null {
      db.transaction(() => {
        if (present) insertFile.run(id, fileId, now())
        else removeFile.run(id, fileId)
        touch.run(now(), id)
      }).immediate()
      return find(id)
    },
    /** Empties the base's file list. */
    resetKnowledge(id: KnowledgeId): Knowledge | null {
      removeFiles.run(id)
      touch.run(now(), id)
      return find(id)
    },
    deleteKnowledge(id: KnowledgeId): boolean {
      return remove.run(id).changes > 0
    },
    /** Whether any knowledge base lists this file (such a file outlives the chats that referenced it). */
    isFileInKnowledge(fileId: string): boolean {
      return countUses.get(fileId)!.n > 0
    },
  }
}

export type KnowledgeRepo = ReturnType<typeof createKnowledgeRepo>
