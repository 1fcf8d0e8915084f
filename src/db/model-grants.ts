/**
 * The access_control of each base model (Ollama's), as an admin set it. Format: one row per model,
 * keyed by its canonical name (canonicalModelName: lower case, `:latest` when no tag is given), the
 * grant as Open WebUI's JSON (`null` = public; otherwise `{read: {group_ids, user_ids}, write: ...}`),
 * ids only, so stored as it is. A model without a row is for admins only.
 *
 * Threat: a stale grant letting a user keep a model an admin took away. Every decision reads the
 * grants from memory, replaced on every write made here and read again after at most a second
 * (KEPT_READ_MAX_AGE_MS), so a change made through another instance holds here within that time.
 *
 * The upgrade: a database that had accounts before grants existed starts `pending`; the first
 * model listing that succeeds makes every listed model without a row public (`adoptListedModels`),
 * so an upgrade takes nothing away. Until then a model without a row counts as public.
 */
import type { SqlEngine } from './engine.ts'
import { keptRead } from './kept-read.ts'
import { announceSettingsWrite, type SharedWrites } from './shared-writes.ts'

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
type UpgradeRow = { pending: number; adopted: string | null; adopted_at: number | null }

/** The grants and the upgrade's state as read at one moment; the same object until one of them changes. */
export type GrantSnapshot = { readonly grants: ReadonlyMap<string, ModelGrant>; readonly upgrade: GrantUpgrade }

/**
 * Model grants on the engine. Every decision reads them from a snapshot kept in memory (kept-read.ts):
 * replaced at once by a write made here, read again after at most a second for another instance's.
 */
export function createModelGrantRepo(sql: SqlEngine, now: () => number, shared: SharedWrites = { isAnnounced: false }) {
  let last: { text: string; snapshot: GrantSnapshot } | null = null
  const readSnapshot = async (): Promise<GrantSnapshot> => {
    const [rows, upgradeRow] = await Promise.all([
      sql.all<GrantRow>('SELECT model_id, access_control, updated_at, updated_by FROM model_grant ORDER BY model_id'),
      sql.get<UpgradeRow>('SELECT pending, adopted, adopted_at FROM model_grant_upgrade WHERE id = 1'),
    ])
    // note: an unchanged read keeps the same snapshot, so decisions remembered from it stand.
    const text = JSON.stringify([rows, upgradeRow])
    if (last !== null && last.text === text) return last.snapshot
    const snapshot: GrantSnapshot = Object.freeze({
      grants: new Map(rows.map((row) => [row.model_id, {
        modelId: row.model_id, access: row.access_control === null ? null : JSON.parse(row.access_control) as AccessControl, updatedAt: Number(row.updated_at), updatedBy: row.updated_by,
      }])),
      upgrade: {
        pending: Number(upgradeRow?.pending ?? 0) === 1, adopted: upgradeRow?.adopted == null ? null : JSON.parse(upgradeRow.adopted) as string[],
        adoptedAt: upgradeRow?.adopted_at == null ? null : Number(upgradeRow.adopted_at),
      },
    })
    last = { text, snapshot }
    return snapshot
  }
  const kept = keptRead(readSnapshot, now)
  // note: another instance's write drops it at once (with Redis), rather than within the second.
  shared.onKeptReadsStale?.(() => kept.forget())
  /** After a write here: forgets the snapshot, and tells the other instances once it committed. */
  const forget = () => {
    kept.forget()
    announceSettingsWrite(sql, shared)
  }

  return {
    /** The grants and the upgrade's state now (from memory while fresh). */
    snapshot: (): Promise<GrantSnapshot> => kept.get(),

    /** The model's grant; undefined when it has none (admins only). */
    async findGrant(modelId: string): Promise<ModelGrant | undefined> {
      return (await kept.get()).grants.get(canonicalModelName(modelId))
    },

    async listGrants(): Promise<ModelGrant[]> {
      return [...(await kept.get()).grants.values()].sort((a, b) => a.modelId.localeCompare(b.modelId))
    },

    /** Sets the model's access_control (null: public); `by` is the admin's id. */
    async setGrant(modelId: string, access: AccessControl, by: string): Promise<ModelGrant> {
      const id = canonicalModelName(modelId)
      const at = now()
      await sql.run('INSERT INTO model_grant (model_id, access_control, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (model_id) DO UPDATE SET access_control = excluded.access_control, updated_at = excluded.updated_at, updated_by = excluded.updated_by',
        id, access === null ? null : JSON.stringify(access), at, by)
      forget()
      return { modelId: id, access, updatedAt: at, updatedBy: by }
    },

    /** Forgets the model's grant, so it is for admins only again; false when it had none. */
    async removeGrant(modelId: string): Promise<boolean> {
      const removed = (await sql.run('DELETE FROM model_grant WHERE model_id = ?', canonicalModelName(modelId))).changes > 0
      forget()
      return removed
    },

    /** What the upgrade did, or that it is pending. */
    async readUpgrade(): Promise<GrantUpgrade> {
      return (await kept.get()).upgrade
    },

    /**
     * Finishes a pending upgrade with the models a listing found: each without a grant becomes
     * public. Returns the ids made public, or null when no upgrade was pending (here or, already, on
     * another instance).
     */
    async adoptListedModels(names: readonly string[]): Promise<string[] | null> {
      if (!(await kept.get()).upgrade.pending) return null
      const wanted = [...new Set(names.map(canonicalModelName))].filter((id) => id !== '').sort()
      const at = now()
      try {
        return await sql.transaction(async () => {
          const upgrade = await sql.get<{ pending: number }>('SELECT pending FROM model_grant_upgrade WHERE id = 1')
          if (Number(upgrade?.pending ?? 0) !== 1) return null
          const existing = new Set((await sql.all<{ model_id: string }>('SELECT model_id FROM model_grant')).map((row) => row.model_id))
          const ids = wanted.filter((id) => !existing.has(id))
          for (const id of ids) await sql.run("INSERT INTO model_grant (model_id, access_control, updated_at, updated_by) VALUES (?, NULL, ?, 'upgrade') ON CONFLICT (model_id) DO NOTHING", id, at)
          await sql.run('UPDATE model_grant_upgrade SET pending = 0, adopted = ?, adopted_at = ? WHERE id = 1', JSON.stringify(ids), at)
          return ids
        })
      } finally {
        forget()
      }
    },
  }
}

export type ModelGrantRepo = ReturnType<typeof createModelGrantRepo>
