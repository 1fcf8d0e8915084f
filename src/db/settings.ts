import type { Database } from 'bun:sqlite'
import { SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import { sealedTable } from './sealed-table.ts'

const settingTable = sealedTable('setting', { value: 'json' })

/** Server-wide settings (connections, feature switches), sealed under the system data key. */
export function createSettingsRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const selectValue = db.query<{ value: Uint8Array }, [string]>('SELECT value FROM setting WHERE name = ?')
  const upsertValue = db.query<void, [string, Uint8Array, number]>(
    'INSERT INTO setting (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
  const deleteValue = db.query<void, [string]>('DELETE FROM setting WHERE name = ?')

  return {
    /** Returns the stored value, or null when the setting was never written. */
    readSetting(name: string): unknown | null {
      const row = selectValue.get(name)
      return row === null ? null : settingTable.open(name, row, keys.keysForOwner(SYSTEM_OWNER)).value
    },
    /** Stores a JSON value; null removes the setting. */
    writeSetting(name: string, value: unknown): void {
      if (value === null) deleteValue.run(name)
      else upsertValue.run(name, settingTable.sealColumn('value', name, value, keys.keysForOwner(SYSTEM_OWNER))!, now())
    },
    removeSetting(name: string): void {
      deleteValue.run(name)
    },
  }
}

export type SettingsRepo = ReturnType<typeof createSettingsRepo>
