/**
 * The access_control of each base model (Ollama's), as an admin set it. Format: one row per model,
 * keyed by its canonical name (canonicalModelName: lower case, `:latest` when no tag is given), the
 * grant as Open WebUI's JSON (`null` = public; otherwise `{read: {group_ids, user_ids}, write: ...}`),
 * ids only, so stored as it is. A model without a row is for admins only.
 *
 * Threat: a stale grant letting a user keep a model an admin took away. Every decision reads the
 * grants from memory, loaded once and replaced on every write made here (the only writer).
 *
 * The upgrade: a database that had accounts before grants existed starts `pending`; the first
 * model listing that succeeds makes every listed model without a row public (`adoptListedModels`),
 * so an upgrade takes nothing away. Until then a model without a row counts as public.
 */
import type { Database } from 'bun:sqlite'

/** Open WebUI's access_control, as stored (the same shape auth/access-control.ts decides on). */
export type AccessControl = { read?: { group_ids: string[]; user_ids: string[] }; write?: { group_ids: string[]; user_ids: string[] } } | null

export type ModelGrant = { modelId: string; access: AccessControl; updatedAt: number; updatedBy: string }

/** What the upgrade did: which models it made public, and when; null while pending or on a new database. */
export type GrantUpgrade = { pending: boolean; adopted: string[] | null; adoptedAt: number | null }

/** The name a model is granted by: Ollama's name in lower case, with `:latest` when no tag is given. */
export function canonicalModelName(name: string): string {
  const lower = name.trim().toLowerCase()
  const lastSegment = lower.slice(lower.lastIndexOf('/') + 1)
  return lastSegment.includes(':') || lastSegment.includes('@') || lower === '' ? lower : `${lower}:latest`
}

type GrantRow = { model_id: string; access_control: string | null; updated_at: number; updated_by: string }

export function createModelGrantRepo(db: Database, now: () => number) {
  const selectAll = db.query<GrantRow, []>('SELECT model_id, access_control, updated_at, updated_by FROM model_grant')
  const upsert = db.query<void, [string, string | null, number, string]>(
    'INSERT INTO model_grant (model_id, access_control, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (model_id) DO UPDATE SET access_control = excluded.access_control, updated_at = excluded.updated_at, updated_by = excluded.updated_by')
  const insertIfMissing = db.query<void, [string, number]>(
    "INSERT INTO model_grant (model_id, access_control, updated_at, updated_by) VALUES (?, NULL, ?, 'upgrade') ON CONFLICT (model_id) DO NOTHING")
  const deleteOne = db.query<void, [string]>('DELETE FROM model_grant WHERE model_id = ?')
  const selectUpgrade = db.query<{ pending: number; adopted: string | null; adopted_at: number | null }, []>('SELECT pending, adopted, adopted_at FROM model_grant_upgrade WHERE id = 1')
  const finishUpgrade = db.query<void, [string, number]>('UPDATE model_grant_upgrade SET pending = 0, adopted = ?, adopted_at = ? WHERE id = 1')

  let grants: Map<string, ModelGrant> | null = null
  let upgrade: GrantUpgrade | null = null
  let version = 0
  const load = () => {
    grants ??= new Map(selectAll.all().map((row) => [row.model_id, {
      modelId: row.model_id, access: row.access_control === null ? null : JSON.parse(row.access_control) as AccessControl, updatedAt: row.updated_at, updatedBy: row.updated_by,
    }]))
    return grants
  }
  const readUpgrade = (): GrantUpgrade => {
    if (upgrade === null) {
      const row = selectUpgrade.get()
      upgrade = { pending: row?.pending === 1, adopted: row?.adopted == null ? null : JSON.parse(row.adopted) as string[], adoptedAt: row?.adopted_at ?? null }
    }
    return upgrade
  }

  return {
    /** A number that changes on every write here (decisions made from the grants may be reused until it does). */
    version: (): number => version,

    /** The model's grant; undefined when it has none (admins only). */
    findGrant(modelId: string): ModelGrant | undefined {
      return load().get(canonicalModelName(modelId))
    },

    listGrants(): ModelGrant[] {
      return [...load().values()].sort((a, b) => a.modelId.localeCompare(b.modelId))
    },

    /** Sets the model's access_control (null: public); `by` is the admin's id. */
    setGrant(modelId: string, access: AccessControl, by: string): ModelGrant {
      const id = canonicalModelName(modelId)
      const at = now()
      upsert.run(id, access === null ? null : JSON.stringify(access), at, by)
      grants = null
      version += 1
      return { modelId: id, access, updatedAt: at, updatedBy: by }
    },

    /** Forgets the model's grant, so it is for admins only again; false when it had none. */
    removeGrant(modelId: string): boolean {
      const removed = deleteOne.run(canonicalModelName(modelId)).changes > 0
      grants = null
      version += 1
      return removed
    },

    readUpgrade,

    /**
     * Finishes a pending upgrade with the models a listing found: each without a grant becomes
     * public. Returns the ids made public, or null when no upgrade was pending.
     */
    adoptListedModels(names: readonly string[]): string[] | null {
      if (!readUpgrade().pending) return null
      const adopted = db.transaction(() => {
        if (selectUpgrade.get()?.pending !== 1) return null
        const existing = new Set(selectAll.all().map((row) => row.model_id))
        const ids = [...new Set(names.map(canonicalModelName))].filter((id) => id !== '' && !existing.has(id)).sort()
        const at = now()
        for (const id of ids) insertIfMissing.run(id, at)
        finishUpgrade.run(JSON.stringify(ids), at)
        return ids
      }).immediate()
      grants = null
      upgrade = null
      version += 1
      return adopted
    },
  }
}

export type ModelGrantRepo = ReturnType<typeof createModelGrantRepo>
