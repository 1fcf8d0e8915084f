/**
 * Workspace models, as Open WebUI keeps them: a named preset on a base model (a system prompt and
 * options in `params`; description, picture, suggested prompts and tags in `meta`), with an
 * `access_control` grant and an active flag. Each belongs to one user and everything the user
 * wrote is sealed under their data key: the id (the model name chats use), base model, name, meta
 * and params. The id is unique server-wide (chats name a model by it alone) and found by a blind
 * index, so a lookup needs no plaintext. The grant holds only group and user ids, kept plain so a
 * listing can decide who may see a row before opening it. This repository does not decide access:
 * callers ask `hasAccess` with what `find` returns.
 */
import type { Database } from 'bun:sqlite'
import type { AccessControl } from '../auth/access-control.ts'
import { blindIndex } from '../crypto/blind-index.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

const modelTable = sealedTable('workspace_model', { model_id: 'text', base_model_id: 'text', name: 'text', meta: 'json', params: 'json' })

export type WorkspaceModel = {
  id: string; ownerId: UserId; baseModelId: string; name: string
  meta: Record<string, unknown>; params: Record<string, unknown>
  access: AccessControl; isActive: boolean; createdAt: number; updatedAt: number
}

/** What a create sets; an update replaces these whole, as Open WebUI's form sends them. */
export type WorkspaceModelInput = {
  baseModelId: string; name: string; meta: Record<string, unknown>; params: Record<string, unknown>; access: AccessControl; isActive: boolean
}

/** The part of a preset the dispatch decision needs. */
export type WorkspaceModelGrant = { baseModelId: string; ownerId: string; access: AccessControl; isActive: boolean }

type ModelRow = {
  row_id: string; user_id: string; model_id: Uint8Array; base_model_id: Uint8Array; name: Uint8Array; meta: Uint8Array | null; params: Uint8Array | null
  access_control: string | null; is_active: number; created_at: number; updated_at: number
}
type GrantRow = Pick<ModelRow, 'row_id' | 'user_id' | 'access_control' | 'is_active'>

const parseAccess = (stored: string | null): AccessControl => (stored === null ? null : JSON.parse(stored) as AccessControl)
const storeAccess = (access: AccessControl): string | null => (access === null ? null : JSON.stringify(access))

export function createWorkspaceModelRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const insert = db.query<void, [string, Uint8Array, string, Uint8Array, Uint8Array, Uint8Array, Uint8Array | null, Uint8Array | null, string | null, number, number, number]>(
    `INSERT INTO workspace_model (row_id, model_index, user_id, model_id, base_model_id, name, meta, params, access_control, is_active, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const selectByIndex = db.query<ModelRow, [Uint8Array]>('SELECT * FROM workspace_model WHERE model_index = ?')
  const selectGrantByIndex = db.query<GrantRow & { base_model_id: Uint8Array }, [Uint8Array]>(
    'SELECT row_id, user_id, base_model_id, access_control, is_active FROM workspace_model WHERE model_index = ?')
  const selectGrants = db.query<GrantRow, []>('SELECT row_id, user_id, access_control, is_active FROM workspace_model ORDER BY updated_at DESC, row_id')
  const selectRow = db.query<ModelRow, [string]>('SELECT * FROM workspace_model WHERE row_id = ?')
  const update = db.query<void, [Uint8Array, Uint8Array, Uint8Array | null, Uint8Array | null, string | null, number, number, string]>(
    'UPDATE workspace_model SET base_model_id = ?, name = ?, meta = ?, params = ?, access_control = ?, is_active = ?, updated_at = ? WHERE row_id = ?')
  const setActive = db.query<void, [number, number, string]>('UPDATE workspace_model SET is_active = ?, updated_at = ? WHERE row_id = ?')
  const remove = db.query<void, [string]>('DELETE FROM workspace_model WHERE row_id = ?')
  const removeAll = db.query<void, []>('DELETE FROM workspace_model')

  const modelIndex = (id: string) => blindIndex(keys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'workspace_model.id', id)
  const toModel = (row: ModelRow): WorkspaceModel => {
    const plain = modelTable.open(row.row_id, row, keys.keysForOwner(row.user_id))
    return {
      id: plain.model_id!, ownerId: row.user_id as UserId, baseModelId: plain.base_model_id!, name: plain.name!,
      meta: (plain.meta ?? {}) as Record<string, unknown>, params: (plain.params ?? {}) as Record<string, unknown>,
      access: parseAccess(row.access_control), isActive: row.is_active === 1, createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }
  const findRow = (id: string) => selectByIndex.get(modelIndex(id))

  return {
    /** The preset's base model, owner, grant and active flag, for the dispatch decision; null when no preset has this id. */
    find(id: string): WorkspaceModelGrant | null {
      const row = selectGrantByIndex.get(modelIndex(id))
      if (row === null) return null
      const baseModelId = modelTable.openColumn('base_model_id', row.row_id, row.base_model_id, keys.keysForOwner(row.user_id))!
      return { baseModelId, ownerId: row.user_id, access: parseAccess(row.access_control), isActive: row.is_active === 1 }
    },

    /** The whole preset, whoever owns it (callers decide access first with `find`); null when none has this id. */
    findModel(id: string): WorkspaceModel | null {
      const row = findRow(id)
      return row === null ? null : toModel(row)
    },

    /** Every preset `isVisible` admits (asked with plain owner and grant, before anything is opened), newest first. */
    listModels(isVisible: (grant: { ownerId: string; access: AccessControl; isActive: boolean }) => boolean): WorkspaceModel[] {
      return selectGrants.all()
        .filter((row) => isVisible({ ownerId: row.user_id, access: parseAccess(row.access_control), isActive: row.is_active === 1 }))
        .map((row) => toModel(selectRow.get(row.row_id)!))
    },

    /** Creates the owner's preset; refused when any preset already has this id. */
    createModel(owner: UserId, id: string, input: WorkspaceModelInput): { ok: true; model: WorkspaceModel } | { ok: false; reason: 'model_id_taken' } {
      return db.transaction(() => {
        const index = modelIndex(id)
        if (selectByIndex.get(index) !== null) return { ok: false as const, reason: 'model_id_taken' as const }
        const rowId = crypto.randomUUID()
        const at = now()
        const sealed = modelTable.seal(rowId, { model_id: id, base_model_id: input.baseModelId, name: input.name, meta: input.meta, params: input.params }, keys.keysForOwner(owner))
        insert.run(rowId, index, owner, sealed.model_id!, sealed.base_model_id!, sealed.name!, sealed.meta, sealed.params, storeAccess(input.access), input.isActive ? 1 : 0, at, at)
        return { ok: true as const, model: toModel(selectRow.get(rowId)!) }
      }).immediate()
    },

    /** Replaces the preset's fields (sealed under its owner's key, whoever edits it); null when none has this id. */
    updateModel(id: string, input: WorkspaceModelInput): WorkspaceModel | null {
      return db.transaction(() => {
        const row = findRow(id)
        if (row === null) return null
        const sealed = modelTable.seal(row.row_id, { model_id: id, base_model_id: input.baseModelId, name: input.name, meta: input.meta, params: input.params }, keys.keysForOwner(row.user_id))
        update.run(sealed.base_model_id!, sealed.name!, sealed.meta, sealed.params, storeAccess(input.access), input.isActive ? 1 : 0, now(), row.row_id)
        return toModel(selectRow.get(row.row_id)!)
      }).immediate()
    },

    /** Turns the preset on or off; null when none has this id. */
    setModelActive(id: string, isActive: boolean): WorkspaceModel | null {
      const row = findRow(id)
      if (row === null) return null
      setActive.run(isActive ? 1 : 0, now(), row.row_id)
      return toModel(selectRow.get(row.row_id)!)
    },

    /** Deletes the preset; false when none has this id. */
    deleteModel(id: string): boolean {
      const row = findRow(id)
      if (row === null) return false
      remove.run(row.row_id)
      return true
    },

    /** Deletes every preset (an admin's "delete all"). */
    deleteAllModels(): void {
      removeAll.run()
    },
  }
}

export type WorkspaceModelRepo = ReturnType<typeof createWorkspaceModelRepo>
