/**
 * `enclave keys rotate --new-key-file F`, with the server stopped: re-wraps every data key under
 * the key in F in one transaction. With a generated key file, F's key is installed as the new key
 * file first (the old one kept as `.previous`), so an interruption at any point is finished by the
 * next start or the next run. With ENCRYPTION_KEY(_FILE), the operator points the configuration
 * at F afterwards; ENCRYPTION_KEY_PREVIOUS lets a start finish an interrupted run.
 *
 * On PostgreSQL (DATABASE_URL) the re-wrap commits in one transaction, so there is nothing to
 * finish: a generated key file is replaced only after it committed (a run again after an
 * interruption finds the database under F's key and only installs the file). Every instance must be
 * stopped, and the command refuses while it finds one (running-instances.ts): a running instance
 * keeps the old master key in memory and would wrap new data keys under it.
 */
import { resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { readKeyFile } from '../crypto/key-files.ts'
import { keyFingerprint } from '../crypto/key-derivation.ts'
import { parseMasterKey, readMasterKeyMaterial } from '../crypto/master-key.ts'
import { installRotatedKeyFile, readPreviousMasterKey, retirePreviousKeyFile } from '../crypto/previous-master-key.ts'
import { readKeyCheck, readKeyCheckOn } from '../db/key-check.ts'
import { readKeyInventory } from '../db/key-inventory.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { openStore } from '../db/open-store.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { readEngineKeyCheck } from '../db/store-transfer.ts'
import { materialMatches } from '../db/unlock.ts'
import { openCommandStore } from './command-store.ts'
import { checkHealth } from './healthcheck.ts'
import { COPY_POOL, showUrl } from './postgres-failure.ts'
import { findRunningInstances } from './running-instances.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

/** Rotates the master key offline. Exit 0 when the database ends under the new key, 1 when refused. */
export async function rotateMasterKeyOffline(config: Config, newKeyFile: string, io: Output): Promise<number> {
  if (config.postgres !== null) return rotateOnPostgres(config, newKeyFile, io)
  if ((await checkHealth(config, 1000)).ok) {
    io.err('enclave: a server answers on this port: stop it first, or rotate through the admin API (POST /api/v1/admin/keys/rotate-master).\n')
    return 1
  }
  const path = resolve(process.cwd(), newKeyFile)
  const newText = readKeyFile(path, '--new-key-file')
  const newMaterial = parseMasterKey(newText, `--new-key-file ${path}`)
  const probe = openExistingDatabase(config.dataDir, false)
  const stored = readKeyCheck(probe)
  probe.close()
  if (stored === null) {
    io.err('enclave: this database was never initialised: nothing to rotate\n')
    return 1
  }
  let previous = readPreviousMasterKey(config.values, config.masterKey, process.cwd())
  if (config.masterKey.kind === 'generated' && !materialMatches(stored, newMaterial)) {
    const current = readMasterKeyMaterial(config.masterKey)
    // note: a `.previous` left by an earlier, finished rotation is moved aside, so the copy made next is the key the database is under.
    if (current !== null && materialMatches(stored, current) && previous !== null) {
      retirePreviousKeyFile(config.masterKey.path, 'stale')
      previous = null
    }
    // note: the new key goes on disk before the database changes; a start in between finishes the rotation.
    if ((current !== null && materialMatches(stored, current)) || (previous !== null && materialMatches(stored, previous.material))) {
      installRotatedKeyFile(config.masterKey.path, newText)
      previous = readPreviousMasterKey(config.values, config.masterKey, process.cwd())
    }
  }
  const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now, previousMasterKey: previous })
  try {
    const before = store.info.finishedRotationFrom ?? stored.fingerprint
    if (!materialMatches((await readKeyCheckOn(store.sql))!, newMaterial)) await store.rotateMasterKey(newMaterial)
    const keys = (await readKeyInventory(store.sql)).dataKeysByVersion.reduce((sum, row) => sum + row.count, 0)
    printRotated(io, path, before, store.info.keyFingerprint, keys)
  } finally {
    await store.close()
  }
  printKeyFileAdvice(config, path, stored.fingerprint, io)
  return 0
}

function printRotated(io: Output, path: string, before: string, after: string, keys: number): void {
  io.out(before === after
    ? `The database is already under the key in ${path} (fingerprint ${before}); nothing to rotate.\n`
    : `Rotated the master key from ${before} to ${after}: ${keys} data keys re-wrapped. Sessions signed before now have ended.\n`)
}

/** Rotates the master key of a PostgreSQL store, every instance stopped; see the header. */
async function rotateOnPostgres(config: Config, newKeyFile: string, io: Output): Promise<number> {
  const postgres = config.postgres!
  const running = await findRunningInstances(config)
  if (running.length > 0) {
    io.err(`enclave: instances run on this database (${running.join('; ')}): stop every one first, or, with a single instance, rotate through its admin API (POST /api/v1/admin/keys/rotate-master). A running instance keeps the old master key in memory; nothing was changed.\n`)
    return 1
  }
  const path = resolve(process.cwd(), newKeyFile)
  const newText = readKeyFile(path, '--new-key-file')
  const newMaterial = parseMasterKey(newText, `--new-key-file ${path}`)
  const probe = createPostgresEngine({ ...postgres, pool: { ...COPY_POOL, maxConnections: 1 } })
  const stored = await readEngineKeyCheck(probe).finally(() => probe.close().catch(() => {}))
  if (stored === null) {
    io.err(`enclave: ${showUrl(postgres.url)} holds no Enclave store: nothing to rotate\n`)
    return 1
  }
  if (materialMatches(stored, newMaterial)) {
    printRotated(io, path, stored.fingerprint, stored.fingerprint, 0)
    // note: a run that committed but stopped before replacing the generated key file: replace it now.
    const current = config.masterKey.kind === 'generated' ? readMasterKeyMaterial(config.masterKey) : null
    if (config.masterKey.kind === 'generated' && current !== null && !materialMatches(stored, current)) installRotatedKeyFile(config.masterKey.path, newText)
    printKeyFileAdvice(config, path, current?.kind === 'raw' ? keyFingerprint(current.key) : stored.fingerprint, io)
    return 0
  }
  const store = await openCommandStore(config)
  try {
    await store.rotateMasterKey(newMaterial)
    const keys = (await readKeyInventory(store.sql)).dataKeysByVersion.reduce((sum, row) => sum + row.count, 0)
    printRotated(io, path, stored.fingerprint, store.info.keyFingerprint, keys)
  } finally {
    await store.close()
  }
  if (config.masterKey.kind === 'generated') installRotatedKeyFile(config.masterKey.path, newText)
  printKeyFileAdvice(config, path, stored.fingerprint, io)
  return 0
}

/** Where the new key must be from now on: the generated key file (the old one retired), or the configuration. */
function printKeyFileAdvice(config: Config, path: string, oldFingerprint: string, io: Output): void {
  if (config.masterKey.kind === 'generated') {
    const retired = retirePreviousKeyFile(config.masterKey.path, oldFingerprint)
    io.out(`The key file ${config.masterKey.path} holds the new key.${retired === null ? '' : ` The old key was moved to ${retired}: keep it while you keep backups taken before now, then delete it.`}\n`)
  } else if (config.masterKey.kind === 'file' && config.masterKey.path === path) {
    io.out('The configured ENCRYPTION_KEY_FILE already names the new key; remove ENCRYPTION_KEY_PREVIOUS(_FILE) if set.\n')
  } else {
    io.out(`Now set ENCRYPTION_KEY_FILE=${path} (or ENCRYPTION_KEY to its contents) ${config.postgres === null ? 'before the next start' : 'for every instance before it starts again'}: the old key (fingerprint ${oldFingerprint}) no longer opens this database, only backups taken before now.\n`)
  }
}
