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
import type { AccessControl } from '../auth/access-control.ts'
import { blindIndex } from '../crypto/blind-index.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
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
  access_control: string | null; is_active: number; created_at: number | string; updated_at: number | string
}
type GrantRow = Pick<ModelRow, 'row_id' | 'user_id' | 'access_control' | 'is_active'>

const parseAccess = (stored: string | null): AccessControl => (stored === null ? null : JSON.parse(stored) as AccessControl)
const storeAccess = (access: AccessControl): string | null => (access === null ? null : JSON.stringify(access))

export function createWorkspaceModelRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number) {
  const selectRow = (rowId: string) => sql.get<ModelRow>('SELECT * FROM workspace_model WHERE row_id = ?', rowId)
  const modelIndex = async (id: string) => blindIndex((await keys.ringFor(EMAIL_INDEX_OWNER)).current.key, 'workspace_model.id', id)
  const toModel = async (row: ModelRow): Promise<WorkspaceModel> => {
    const plain = modelTable.open(row.row_id, row, await keys.ringFor(row.user_id))
    return {
      id: plain.model_id!, ownerId: row.user_id as UserId, baseModelId: plain.base_model_id!, name: plain.name!,
      meta: (plain.meta ?? {}) as Record<string, unknown>, params: (plain.params ?? {}) as Record<string, unknown>,
      access: parseAccess(row.access_control), isActive: Number(row.is_active) === 1, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at),
    }
  }
  const findRow = async (id: string) => sql.get<ModelRow>('SELECT * FROM workspace_model WHERE model_index = ?', await modelIndex(id))

  return {
    /** The preset's base model, owner, grant and active flag, for the dispatch decision; null when no preset has this id. */
    async find(id: string): Promise<WorkspaceModelGrant | null> {
      const row = await sql.get<GrantRow & { base_model_id: Uint8Array }>(
        'SELECT row_id, user_id, base_model_id, access_control, is_active FROM workspace_model WHERE model_index = ?', await modelIndex(id))
      if (row === null) return null
      const baseModelId = modelTable.openColumn('base_model_id', row.row_id, row.base_model_id, await keys.ringFor(row.user_id))!
      return { baseModelId, ownerId: row.user_id, access: parseAccess(row.access_control), isActive: Number(row.is_active) === 1 }
    },

    /** The whole preset, whoever owns it (callers decide access first with `find`); null when none has this id. */
    async findModel(id: string): Promise<WorkspaceModel | null> {
      const row = await findRow(id)
      return row === null ? null : toModel(row)
    },

    /** Every preset `isVisible` admits (asked with plain owner and grant, before anything is opened), newest first. */
    async listModels(isVisible: (grant: { ownerId: string; access: AccessControl; isActive: boolean }) => boolean): Promise<WorkspaceModel[]> {
      const grants = await sql.all<GrantRow>('SELECT row_id, user_id, access_control, is_active FROM workspace_model ORDER BY updated_at DESC, row_id')
      const models: WorkspaceModel[] = []
      for (const grant of grants) {
        if (!isVisible({ ownerId: grant.user_id, access: parseAccess(grant.access_control), isActive: Number(grant.is_active) === 1 })) continue
        const row = await selectRow(grant.row_id)
        if (row !== null) models.push(await toModel(row))
      }
      return models
    },

    /** Creates the owner's preset; refused when any preset already has this id. */
    async createModel(owner: UserId, id: string, input: WorkspaceModelInput): Promise<{ ok: true; model: WorkspaceModel } | { ok: false; reason: 'model_id_taken' }> {
      const index = await modelIndex(id)
      const rowId = crypto.randomUUID()
      const at = now()
      const sealed = modelTable.seal(rowId, { model_id: id, base_model_id: input.baseModelId, name: input.name, meta: input.meta, params: input.params }, await keys.ringFor(owner))
      const made = await sql.transaction(async () => {
        if (await sql.get('SELECT 1 FROM workspace_model WHERE model_index = ?', index) !== null) return null
        await sql.run(`INSERT INTO workspace_model (row_id, model_index, user_id, model_id, base_model_id, name, meta, params, access_control, is_active, created_at, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        rowId, index, owner, sealed.model_id!, sealed.base_model_id!, sealed.name!, sealed.meta, sealed.params, storeAccess(input.access), input.isActive ? 1 : 0, at, at)
        return selectRow(rowId)
      })
      return made === null ? { ok: false, reason: 'model_id_taken' } : { ok: true, model: await toModel(made) }
    },

    /** Replaces the preset's fields (sealed under its owner's key, whoever edits it); null when none has this id. */
    async updateModel(id: string, input: WorkspaceModelInput): Promise<WorkspaceModel | null> {
      const row = await findRow(id)
      if (row === null) return null
      const sealed = modelTable.seal(row.row_id, { model_id: id, base_model_id: input.baseModelId, name: input.name, meta: input.meta, params: input.params }, await keys.ringFor(row.user_id))
      await sql.run('UPDATE workspace_model SET base_model_id = ?, name = ?, meta = ?, params = ?, access_control = ?, is_active = ?, updated_at = ? WHERE row_id = ?',
        sealed.base_model_id!, sealed.name!, sealed.meta, sealed.params, storeAccess(input.access), input.isActive ? 1 : 0, now(), row.row_id)
      const updated = await selectRow(row.row_id)
      return updated === null ? null : toModel(updated)
    },

    /** Turns the preset on or off; null when none has this id. */
    async setModelActive(id: string, isActive: boolean): Promise<WorkspaceModel | null> {
      const row = await findRow(id)
      if (row === null) return null
      await sql.run('UPDATE workspace_model SET is_active = ?, updated_at = ? WHERE row_id = ?', isActive ? 1 : 0, now(), row.row_id)
      const updated = await selectRow(row.row_id)
      return updated === null ? null : toModel(updated)
    },

    /** Deletes the preset; false when none has this id. */
    async deleteModel(id: string): Promise<boolean> {
      return (await sql.run('DELETE FROM workspace_model WHERE model_index = ?', await modelIndex(id))).changes > 0
    },

    /** Deletes every preset (an admin's "delete all"). */
    async deleteAllModels(): Promise<void> {
      await sql.run('DELETE FROM workspace_model')
    },
  }
}

export type WorkspaceModelRepo = ReturnType<typeof createWorkspaceModelRepo>
