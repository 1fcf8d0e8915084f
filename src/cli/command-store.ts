/**
 * The store as the maintenance commands open it (users, keys rotate, keys rotate-data, imports):
 * the configured engine (db/open-configured-store.ts), SQLite in DATA_DIR or PostgreSQL with
 * DATABASE_URL. A command that works on an existing store is refused, with nothing created, when
 * there is none: on SQLite no enclave.db in DATA_DIR, on PostgreSQL a database without Enclave's key
 * check (an import may start a new store, as it does in an empty DATA_DIR).
 *
 * On PostgreSQL a command opens a small pool of its own (a few connections, closed with the store)
 * and its failures are sentences that name the database without its password. Threat: the URL holds
 * the password; it reaches the engine and nothing else.
 */
import { mkdirSync } from 'node:fs'
import type { Config } from '../config/load-config.ts'
import { readPreviousMasterKey } from '../crypto/previous-master-key.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { openConfiguredStore } from '../db/open-configured-store.ts'
import type { Store } from '../db/open-store.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { readEngineKeyCheck } from '../db/store-transfer.ts'
import { COPY_POOL, showUrl } from './postgres-failure.ts'

/** A command's refusal, with a message for the operator (no key, no password). */
export class CommandRefusedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CommandRefusedError'
  }
}

/** Where the store is, for messages: DATA_DIR's file or the URL without its password. */
export function describeStoreLocation(config: Pick<Config, 'dataDir' | 'postgres'>): string {
  return config.postgres === null ? config.dataDir : showUrl(config.postgres.url)
}

/**
 * Opens the configured store for a command; `mayCreate` lets an empty one be started (imports).
 * Throws NoDatabaseError / CommandRefusedError when there is none, KeyMismatchError for a wrong key
 * (nothing written), and the engine's errors when PostgreSQL cannot be reached.
 */
export async function openCommandStore(config: Config, { mayCreate = false }: { mayCreate?: boolean } = {}): Promise<Store> {
  const previousMasterKey = readPreviousMasterKey(config.values, config.masterKey, process.cwd())
  if (config.postgres === null) {
    // note: first, so a missing database is NoDatabaseError rather than a new empty one.
    if (!mayCreate) openExistingDatabase(config.dataDir, false).close()
    return openConfiguredStore(config, { now: Date.now, previousMasterKey })
  }
  const postgres = { ...config.postgres, pool: COPY_POOL }
  // note: a new store's generated key file goes in DATA_DIR, made for its owner alone, as on SQLite.
  if (mayCreate) mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  else {
    const probe = createPostgresEngine(postgres)
    try {
      if ((await readEngineKeyCheck(probe)) === null) throw new CommandRefusedError(`${showUrl(postgres.url)} holds no Enclave store: check DATABASE_URL (a store is put there by \`enclave serve\`, \`enclave migrate-db\` or \`enclave restore\`).`)
    } finally {
      await probe.close().catch(() => {})
    }
  }
  return openConfiguredStore({ dataDir: config.dataDir, masterKey: config.masterKey, postgres }, { now: Date.now, previousMasterKey })
}
