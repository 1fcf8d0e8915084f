/**
 * Opens Enclave's encrypted store in DATA_DIR. Order matters: everything that can refuse a start
 * (unusable key material, a key file others can read, a key that does not match the database) is
 * checked before anything is written, so a refused start leaves the disk as it found it.
 */
import type { Database } from 'bun:sqlite'
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { KeyMismatchError } from '../crypto/key-errors.ts'
import { bytesEqual, deriveKeyFromPassphrase, DEFAULT_KDF_PARAMS, keyCheckValue, keyFingerprint } from '../crypto/key-derivation.ts'
import { writeNewKeyFile } from '../crypto/key-files.ts'
import { readMasterKeyMaterial, type MasterKeyMaterial } from '../crypto/master-key.ts'
import { generateBytes, generateKey } from '../crypto/random.ts'
import { createApiKeyRepo } from './api-keys.ts'
import { createChatRepo } from './chats.ts'
import { createCredentialRepo } from './credentials.ts'
import { createDataKeyRepo, SYSTEM_OWNER } from './data-keys.ts'
import { createGroupRepo } from './groups.ts'
import { createIdentityRepo } from './identities.ts'
import { readKeyCheck, writeKeyCheck, type StoredKeyCheck } from './key-check.ts'
import { migrate } from './migrate.ts'
import { createOidcSessionRepo } from './oidc-sessions.ts'
import { closeDatabase, openDatabase } from './open-database.ts'
import { createSessionRepo } from './sessions.ts'
import { createSettingsRepo } from './settings.ts'
import { createUserRepo, EMAIL_INDEX_OWNER } from './users.ts'

export const DATABASE_FILE = 'enclave.db'

export type StoreOptions = { dataDir: string; masterKey: MasterKeySource; now: () => number }

/** What start-up learned, for the banner and `enclave keys status`; never the key itself. */
export type StoreInfo = {
  databasePath: string
  keyFingerprint: string
  /** True when this start generated the master key file: the operator must back it up. */
  generatedKeyFile: string | null
  /** Things an operator should fix that do not stop the start. */
  warnings: string[]
}

/** Opens the store in DATA_DIR, creating the directory, key file and database on first start. */
export function openStore({ dataDir, masterKey, now }: StoreOptions): Store {
  const material = readMasterKeyMaterial(masterKey)
  const databasePath = join(dataDir, DATABASE_FILE)
  const warnings: string[] = []

  if (existsSync(databasePath)) {
    const db = openDatabase(databasePath)
    const stored = readKeyCheck(db)
    if (stored !== null) {
      try {
        const key = unlockExistingDatabase(stored, material, masterKey)
        migrate(db)
        return createStore(db, key, now, { databasePath, keyFingerprint: stored.fingerprint, generatedKeyFile: null, warnings: warnDataDirMode(dataDir) })
      } catch (error) {
        db.close()
        throw error
      }
    }
    db.close()
  }

  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  else warnings.push(...warnDataDirMode(dataDir))
  let chosen = material
  let generatedKeyFile: string | null = null
  if (chosen === null && masterKey.kind === 'generated') {
    const key = generateKey()
    writeNewKeyFile(masterKey.path, Buffer.from(key).toString('hex'))
    chosen = { kind: 'raw', key }
    generatedKeyFile = masterKey.path
  }
  if (chosen === null) throw new Error('unreachable: only a generated key can be absent')
  const db = openDatabase(databasePath)
  chmodSync(databasePath, 0o600)
  try {
    migrate(db)
    const { key, keyCheck } = keyForNewDatabase(chosen)
    db.transaction(() => {
      writeKeyCheck(db, keyCheck)
      const dataKeys = createDataKeyRepo(db, key, now)
      dataKeys.createKeyForOwner(SYSTEM_OWNER)
      dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
    }).immediate()
    return createStore(db, key, now, { databasePath, keyFingerprint: keyCheck.fingerprint, generatedKeyFile, warnings })
  } catch (error) {
    db.close()
    throw error
  }
}

/** Opens a private in-memory store under the given master key, for tests and benchmarks. */
export function openMemoryStore(masterKey: Uint8Array = generateKey(), now: () => number = Date.now): Store {
  const db = openDatabase(':memory:')
  migrate(db)
  const { key, keyCheck } = keyForNewDatabase({ kind: 'raw', key: masterKey })
  db.transaction(() => {
    writeKeyCheck(db, keyCheck)
    const dataKeys = createDataKeyRepo(db, key, now)
    dataKeys.createKeyForOwner(SYSTEM_OWNER)
    dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
  }).immediate()
  return createStore(db, key, now, { databasePath: ':memory:', keyFingerprint: keyCheck.fingerprint, generatedKeyFile: null, warnings: [] })
}

function createStore(db: Database, masterKey: Uint8Array, now: () => number, info: StoreInfo) {
  const dataKeys = createDataKeyRepo(db, masterKey, now)
  return {
    db,
    info,
    dataKeys,
    users: createUserRepo(db, dataKeys, now),
    chats: createChatRepo(db, dataKeys, now),
    settings: createSettingsRepo(db, dataKeys, now),
    credentials: createCredentialRepo(db, dataKeys, now),
    sessions: createSessionRepo(db, dataKeys, now),
    apiKeys: createApiKeyRepo(db, dataKeys, now),
    identities: createIdentityRepo(db, dataKeys, now),
    groups: createGroupRepo(db, dataKeys, now),
    oidcSessions: createOidcSessionRepo(db, dataKeys, now),
    /** Runs fn in one write transaction (nested repository transactions become savepoints). */
    inTransaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    /** Checkpoints the WAL into the database file and closes it. */
    close: () => closeDatabase(db),
  }
}

export type Store = ReturnType<typeof createStore>

function unlockExistingDatabase(stored: StoredKeyCheck, material: MasterKeyMaterial | null, source: MasterKeySource): Uint8Array {
  if (material === null) {
    throw new KeyMismatchError(stored.fingerprint, { instead: 'no key given' },
      `The key file ${source.kind === 'generated' ? source.path : ''} is missing. Restore it from your backup, or set ENCRYPTION_KEY or ENCRYPTION_KEY_FILE to the key this database was written with.`)
  }
  if (material.kind === 'passphrase' && stored.kdf === null) {
    throw new KeyMismatchError(stored.fingerprint, { instead: 'a passphrase was given' }, 'This database was written with a 64-hex-digit key, but a passphrase was given. Give the key this database was written with.')
  }
  const key = material.kind === 'raw' ? material.key : deriveKeyFromPassphrase(material.passphrase, stored.kdf!.salt, stored.kdf!.params)
  if (!bytesEqual(keyCheckValue(key), stored.check)) {
    throw new KeyMismatchError(stored.fingerprint, { fingerprint: keyFingerprint(key) },
      'Start Enclave with the key this database was written with (a changed ENCRYPTION_KEY, or a new key generated by a redeploy, cannot read it).')
  }
  return key
}

function keyForNewDatabase(material: MasterKeyMaterial): { key: Uint8Array; keyCheck: StoredKeyCheck } {
  const kdf = material.kind === 'passphrase' ? { salt: generateBytes(16), params: DEFAULT_KDF_PARAMS } : null
  const key = material.kind === 'raw' ? material.key : deriveKeyFromPassphrase(material.passphrase, kdf!.salt, kdf!.params)
  return { key, keyCheck: { check: keyCheckValue(key), fingerprint: keyFingerprint(key), kdf } }
}

function warnDataDirMode(dataDir: string): string[] {
  const mode = statSync(dataDir).mode & 0o777
  return (mode & 0o077) === 0 ? [] : [`DATA_DIR ${dataDir} has mode ${mode.toString(8).padStart(4, '0')}; 0700 keeps other local users out: chmod 700 ${dataDir}`]
}
