/**
 * Opens Enclave's encrypted store in DATA_DIR. Order matters: everything that can refuse a start
 * (unusable key material, a key file others can read, a key that does not match the database) is
 * checked before anything is written, so a refused start leaves the disk as it found it.
 */
import { deriveClusterKeys } from '../crypto/cluster-seal.ts'
import type { Database } from 'bun:sqlite'
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { writeNewKeyFile } from '../crypto/key-files.ts'
import { readMasterKeyMaterial, type MasterKeyMaterial } from '../crypto/master-key.ts'
import type { PreviousMasterKey } from '../crypto/previous-master-key.ts'
import { generateKey } from '../crypto/random.ts'
import { createAccountChanges } from './account-changes.ts'
import { createApiKeyRepo } from './api-keys.ts'
import { createChatFolderRepo } from './chat-folders.ts'
import { createChatShareRepo } from './chat-shares.ts'
import { createChatTagRepo } from './chat-tags.ts'
import { createChatRepo } from './chats.ts'
import { createCredentialRepo } from './credentials.ts'
import { LOCK_FILE } from './data-dir-lock.ts'
import { createDataKeyRepo, SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import { type SqlEngine } from './engine.ts'
import { createSqliteEngine } from './sqlite-engine.ts'
import { createFileBlobs, FILES_DIRECTORY } from './file-blobs.ts'
import { createFileRepo } from './files.ts'
import { createFolderRepo } from './folders.ts'
import { createGroupRepo } from './groups.ts'
import { createModelGrantRepo } from './model-grants.ts'
import { createIdentityRepo } from './identities.ts'
import { createKnowledgeRepo } from './knowledge.ts'
import { createRagDocumentRepo } from './rag-documents.ts'
import { readKeyCheck, writeKeyCheck } from './key-check.ts'
import { rotateMasterKey, rotateMasterKeyOn } from './master-key-rotation.ts'
import { resealLegacyMessages } from './message-aad-upgrade.ts'
import { migrate } from './migrate.ts'
import { createOidcSessionRepo } from './oidc-sessions.ts'
import { withLazyStatements } from './lazy-statements.ts'
import { closeDatabase, openDatabase } from './open-database.ts'
import { startWalCheckpointer } from './wal-checkpointer.ts'
import { WalNotErasedError } from './wal-erasure.ts'
import { createSecondFactorRepo } from './second-factors.ts'
import { createSessionRepo } from './sessions.ts'
import { createSettingsRepo } from './settings.ts'
import { createSharedWrites, type SharedWritesHub } from './shared-writes.ts'
import { keyForNewDatabase, materialMatches, unlockExistingDatabase } from './unlock.ts'
import { createUserRepo, EMAIL_INDEX_OWNER } from './users.ts'
import { createPromptRepo } from './prompts.ts'
import { createWorkspaceModelRepo } from './workspace-models.ts'
import { checkDataDirAccess } from './data-dir-access.ts'
import { refuseToReplaceLostDatabase } from './lost-database.ts'

export const DATABASE_FILE = 'enclave.db'

export type StoreOptions = {
  dataDir: string; masterKey: MasterKeySource; now: () => number
  /** The key before a master key rotation (ENCRYPTION_KEY_PREVIOUS): accepted only to finish that rotation. */
  previousMasterKey?: PreviousMasterKey | null
}

/** What start-up learned, for the banner and `enclave keys status`; never the key itself. */
export type StoreInfo = {
  databasePath: string
  keyFingerprint: string
  /** True when this start generated the master key file: the operator must back it up. */
  generatedKeyFile: string | null
  /** Things an operator should fix that do not stop the start. */
  warnings: string[]
  /** Set when this start finished a master key rotation from the previous key. */
  finishedRotationFrom?: string
  /** True when this start initialised the database (PostgreSQL: one of several instances starting together did). */
  initialised?: boolean
}

/** Opens the store in DATA_DIR, creating the directory, key file and database on first start. */
export function openStore({ dataDir, masterKey, now, previousMasterKey = null }: StoreOptions): SqliteStore {
  checkDataDirAccess(dataDir, DATABASE_FILE)
  const material = readMasterKeyMaterial(masterKey)
  const databasePath = join(dataDir, DATABASE_FILE)
  const warnings: string[] = []

  const hasDatabaseFile = existsSync(databasePath)
  // note: a 0-byte file is not opened, as opening it would write SQLite's header into it.
  if (hasDatabaseFile && statSync(databasePath).size > 0) {
    const db = openDatabase(databasePath)
    const stored = readKeyCheck(db)
    if (stored !== null) {
      try {
        const info: StoreInfo = { databasePath, keyFingerprint: stored.fingerprint, generatedKeyFile: null, warnings: warnDataDirMode(dataDir) }
        if (previousMasterKey !== null && material !== null && !materialMatches(stored, material) && materialMatches(stored, previousMasterKey.material)) {
          // note: the database is still under the previous key: a rotation was started and not committed, so finish it.
          const previous = unlockExistingDatabase(stored, previousMasterKey.material, masterKey)
          migrate(db)
          const rotation = rotateMasterKey(db, createDataKeyRepo(createSqliteEngine(db), previous, now), stored.fingerprint, material)
          return createStore(db, rotation.key, now, join(dataDir, FILES_DIRECTORY), { ...info, keyFingerprint: rotation.fingerprint, finishedRotationFrom: stored.fingerprint })
        }
        const key = unlockExistingDatabase(stored, material, masterKey)
        if (previousMasterKey !== null && masterKey.kind !== 'generated') info.warnings.push(`${previousMasterKey.origin} is set, but the database is already under the current key: the rotation is complete, so remove it.`)
        migrate(db)
        return createStore(db, key, now, join(dataDir, FILES_DIRECTORY), info)
      } catch (error) {
        db.close()
        throw error
      }
    }
    db.close()
  }
  refuseToReplaceLostDatabase(dataDir, databasePath, hasDatabaseFile, masterKey)

  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // note: an empty directory (a fresh clone's ./data holds only .gitkeep) is taken as ours to make private.
  else if (readdirSync(dataDir).every((name) => name === '.gitkeep' || name === LOCK_FILE)) chmodSync(dataDir, 0o700)
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
      const dataKeys = createDataKeyRepo(createSqliteEngine(db), key, now)
      dataKeys.createKeyForOwner(SYSTEM_OWNER)
      dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
    }).immediate()
    return createStore(db, key, now, join(dataDir, FILES_DIRECTORY), { databasePath, keyFingerprint: keyCheck.fingerprint, generatedKeyFile, warnings })
  } catch (error) {
    db.close()
    throw error
  }
}

/** Opens a private in-memory store under the given master key, for tests and benchmarks. */
export function openMemoryStore(masterKey: Uint8Array = generateKey(), now: () => number = Date.now): SqliteStore {
  const db = openDatabase(':memory:')
  migrate(db)
  const { key, keyCheck } = keyForNewDatabase({ kind: 'raw', key: masterKey })
  db.transaction(() => {
    writeKeyCheck(db, keyCheck)
    const dataKeys = createDataKeyRepo(createSqliteEngine(db), key, now)
    dataKeys.createKeyForOwner(SYSTEM_OWNER)
    dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
  }).immediate()
  return createStore(db, key, now, null, { databasePath: ':memory:', keyFingerprint: keyCheck.fingerprint, generatedKeyFile: null, warnings: [] })
}

/** `filesDir` holds the encrypted file blobs; null keeps them in a private temporary directory (in-memory stores). */
function createStore(file: Database, masterKey: Uint8Array, now: () => number, filesDir: string | null, info: StoreInfo): SqliteStore {
  // note: the repositories prepare their statements when first run, not here (lazy-statements.ts).
  const db = withLazyStatements(file)
  // note: a store on a file has its WAL checkpoints taken by a worker, off the appending connection (wal-checkpointer.ts).
  const checkpointer = info.databasePath === ':memory:' ? null : startWalCheckpointer(file, info.databasePath, {
    onFailure: (reason) => console.error(`WAL checkpointer stopped (${reason}); the database connection checkpoints itself`),
  })
  /** The engine every repository talks to; `db` stays for what is inherently about the SQLite file. */
  const sql = createSqliteEngine(db, checkpointer === null ? {} : { onCommit: checkpointer.committed })
  const dataKeys = createDataKeyRepo(sql, masterKey, now)
  resealLegacyMessages(db, dataKeys)
  return createStoreOn(sql, db, dataKeys, masterKey, now, filesDir, info, () => {
    checkpointer?.stop()
    closeDatabase(db)
  })
}

/** What a store may be given from outside: `sharedWrites`, the writes it tells other instances of (one of its own otherwise). */
export type StoreOnOptions = { sharedWrites?: SharedWritesHub }

/**
 * The repositories over one engine: SQLite (`db` its file, for what is inherently about it: the
 * backup snapshot, tests' raw checks) or PostgreSQL (`db` null). `closeEngine` ends the connection
 * or pool once the blobs' temporary directory is gone.
 */
export function createStoreOn<D extends Database | null>(sql: SqlEngine, db: D, dataKeys: DataKeyRepo, masterKey: Uint8Array, now: () => number, filesDir: string | null, info: StoreInfo, closeEngine: () => void | Promise<void>, options: StoreOnOptions = {}) {
  const accountChanges = createAccountChanges()
  const sharedWrites = options.sharedWrites ?? createSharedWrites()
  dataKeys.onKeysChanged((owner) => sharedWrites.announce({ kind: 'keys', owner }))
  let masterRotations: Promise<unknown> = Promise.resolve()
  const blobs = createFileBlobs(filesDir)
  const files = createFileRepo(sql, dataKeys, blobs, now)
  // note: removes what a crash mid-upload left, and the blobs of owners deleted while a blob was being
  // written; in the background, and only what is older than FILES_ORPHAN_GRACE_MS (file-blobs.ts).
  const orphansSwept = files.sweepOrphans().catch(() => 0)
  const users = createUserRepo(sql, dataKeys, now, accountChanges)
  return {
    db,
    sql,
    info,
    dataKeys,
    /** Keys for what passes through Redis between instances (crypto/cluster-seal.ts), derived from the master key. */
    clusterKeys: deriveClusterKeys(masterKey),
    /** Announces revocations, role changes and deletions to what is open in this process (sockets, answers). */
    accountChanges,
    /** Chat and key writes other instances must hear of, and whether this one hears of theirs (cluster/shared-writes-relay.ts sets it). */
    sharedWrites,
    users: {
      ...users,
      /** Deletes the user (their data keys first go, so nothing of theirs opens again), then their files' blobs. */
      async deleteUser(id: Parameters<typeof users.deleteUser>[0]): Promise<void> {
        // note: the file ids are read before the rows go with the user; the blobs go once the deletion committed.
        const fileIds = (await sql.all<{ id: string }>('SELECT id FROM file WHERE user_id = ?', id)).map((row) => row.id)
        try {
          await users.deleteUser(id)
        } catch (error) {
          // note: the deletion committed; only its erasure from the WAL is unfinished, so the blobs go too.
          if (error instanceof WalNotErasedError) files.removeBlobsOf(fileIds)
          throw error
        }
        files.removeBlobsOf(fileIds)
      },
    },
    files,
    /** The start-up sweep of orphaned file blobs: how many it removed, once done. */
    orphansSwept,
    chats: createChatRepo(sql, dataKeys, now, accountChanges, undefined, sharedWrites),
    folders: createFolderRepo(sql, dataKeys, now),
    chatFolders: createChatFolderRepo(sql, sharedWrites),
    chatTags: createChatTagRepo(sql, dataKeys),
    chatShares: createChatShareRepo(sql, dataKeys, now),
    settings: createSettingsRepo(sql, dataKeys, now, sharedWrites),
    credentials: createCredentialRepo(sql, dataKeys, now, accountChanges),
    sessions: createSessionRepo(sql, dataKeys, now, accountChanges),
    apiKeys: createApiKeyRepo(sql, dataKeys, now, accountChanges),
    identities: createIdentityRepo(sql, dataKeys, now, accountChanges),
    groups: createGroupRepo(sql, dataKeys, now, sharedWrites),
    /** Who may use each base model (Open WebUI's access_control). */
    modelGrants: createModelGrantRepo(sql, now, sharedWrites),
    oidcSessions: createOidcSessionRepo(sql, dataKeys, now, accountChanges),
    secondFactors: createSecondFactorRepo(sql, dataKeys, now, accountChanges),
    workspaceModels: createWorkspaceModelRepo(sql, dataKeys, now),
    prompts: createPromptRepo(sql, dataKeys, now),
    knowledge: createKnowledgeRepo(sql, dataKeys, now),
    ragDocuments: createRagDocumentRepo(sql, dataKeys, now),
    /**
     * Re-wraps every data key under a new master key in one transaction and switches to it. Every
     * session ends, as sessions are bound to the key fingerprint.
     */
    async rotateMasterKey(material: MasterKeyMaterial) {
      // note: one at a time, so a second starts from the key the first left (its re-wrap reads under the new key).
      const turn = masterRotations.then(() => rotateMasterKeyOn(sql, dataKeys, info.keyFingerprint, material))
      masterRotations = turn.catch(() => undefined)
      const rotation = await turn
      info.keyFingerprint = rotation.fingerprint
      accountChanges.accessChanged(null)
      return { fingerprint: rotation.fingerprint, previousFingerprint: rotation.previousFingerprint, rewrappedKeys: rotation.rewrappedKeys }
    },
    /** Closes the engine (SQLite: checkpoints the WAL into the database file first). */
    close: async (): Promise<void> => {
      blobs.disposeTemporary()
      await closeEngine()
    },
  }
}

/** A store on either engine: what the server and the commands are given. */
export type Store = ReturnType<typeof createStoreOn<Database | null>>
/** A store on a SQLite file, whose `db` is at hand (backups of the file, tests' raw checks). */
export type SqliteStore = ReturnType<typeof createStoreOn<Database>>

function warnDataDirMode(dataDir: string): string[] {
  const mode = statSync(dataDir).mode & 0o777
  return (mode & 0o077) === 0 ? [] : [`DATA_DIR ${dataDir} has mode ${mode.toString(8).padStart(4, '0')}; 0700 keeps other local users out: chmod 700 ${dataDir}`]
}
