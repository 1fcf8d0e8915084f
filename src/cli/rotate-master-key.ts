/**
 * `enclave keys rotate --new-key-file F`, with the server stopped: re-wraps every data key under
 * the key in F in one transaction. With a generated key file, F's key is installed as the new key
 * file first (the old one kept as `.previous`), so an interruption at any point is finished by the
 * next start or the next run. With ENCRYPTION_KEY(_FILE), the operator points the configuration
 * at F afterwards; ENCRYPTION_KEY_PREVIOUS lets a start finish an interrupted run.
 */
import { resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { readKeyFile } from '../crypto/key-files.ts'
import { parseMasterKey, readMasterKeyMaterial } from '../crypto/master-key.ts'
import { installRotatedKeyFile, readPreviousMasterKey, retirePreviousKeyFile } from '../crypto/previous-master-key.ts'
import { readKeyCheck, readKeyCheckOn } from '../db/key-check.ts'
import { readKeyInventory } from '../db/key-inventory.ts'
import { openExistingDatabase } from '../db/open-existing.ts'
import { openStore } from '../db/open-store.ts'
import { materialMatches } from '../db/unlock.ts'
import { checkHealth } from './healthcheck.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

/** Rotates the master key offline. Exit 0 when the database ends under the new key, 1 when refused. */
export async function rotateMasterKeyOffline(config: Config, newKeyFile: string, io: Output): Promise<number> {
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
    io.out(before === store.info.keyFingerprint
      ? `The database is already under the key in ${path} (fingerprint ${before}); nothing to rotate.\n`
      : `Rotated the master key from ${before} to ${store.info.keyFingerprint}: ${keys} data keys re-wrapped. Sessions signed before now have ended.\n`)
  } finally {
    store.close()
  }
  if (config.masterKey.kind === 'generated') {
    const retired = retirePreviousKeyFile(config.masterKey.path, stored.fingerprint)
    io.out(`The key file ${config.masterKey.path} holds the new key.${retired === null ? '' : ` The old key was moved to ${retired}: keep it while you keep backups taken before now, then delete it.`}\n`)
  } else if (config.masterKey.kind === 'file' && config.masterKey.path === path) {
    io.out('The configured ENCRYPTION_KEY_FILE already names the new key; remove ENCRYPTION_KEY_PREVIOUS(_FILE) if set.\n')
  } else {
    io.out(`Now set ENCRYPTION_KEY_FILE=${path} (or ENCRYPTION_KEY to its contents) before the next start: the old key (fingerprint ${stored.fingerprint}) no longer opens this database, only backups taken before now.\n`)
  }
  return 0
}
