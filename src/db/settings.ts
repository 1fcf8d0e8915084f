/**
 * Server-wide settings (connections, feature switches, the admin's runtime config), each a JSON
 * value sealed under the system data key, one row per name. This repository keeps nothing in
 * memory: what keeps a setting (auth/runtime-auth.ts) reads it again within a second, so a change
 * made through another instance on the same database holds there too, at once when the instances
 * share writes through Redis (each write is announced; `onWrittenElsewhere` hears the others').
 */
import { SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { sealedTable } from './sealed-table.ts'
import { announceSettingsWrite, type SharedWrites } from './shared-writes.ts'

const settingTable = sealedTable('setting', { value: 'json' })

/** Server-wide settings, sealed under the system data key. */
export function createSettingsRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, shared: SharedWrites = { isAnnounced: false }) {
  return {
    /** Calls `listener` when another instance wrote a setting (or a group or grant): what keeps one reads it again. */
    onWrittenElsewhere(listener: () => void): void {
      shared.onKeptReadsStale?.(listener)
    },
    /** Returns the stored value, or null when the setting was never written. */
    async readSetting(name: string): Promise<unknown | null> {
      const row = await sql.get<{ value: Uint8Array }>('SELECT value FROM setting WHERE name = ?', name)
      return row === null ? null : settingTable.open(name, row, await keys.ringFor(SYSTEM_OWNER)).value
    },
    /** Stores a JSON value; null removes the setting. */
    async writeSetting(name: string, value: unknown): Promise<void> {
      if (value === null) await sql.run('DELETE FROM setting WHERE name = ?', name)
      else {
        const sealed = settingTable.sealColumn('value', name, value, await keys.ringFor(SYSTEM_OWNER))!
        await sql.run('INSERT INTO setting (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
          name, sealed, now())
      }
      announceSettingsWrite(sql, shared)
    },
    async removeSetting(name: string): Promise<void> {
      await sql.run('DELETE FROM setting WHERE name = ?', name)
      announceSettingsWrite(sql, shared)
    },
  }
}

export type SettingsRepo = ReturnType<typeof createSettingsRepo>
