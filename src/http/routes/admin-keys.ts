/**
 * Key management and backups for administrators, under /api/v1/admin: key status, master key
 * rotation, data key rotation with progress, and a backup download. Every action is audited.
 */
import { Elysia, t } from 'elysia'
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Config } from '../../config/load-config.ts'
import { createBackup, createPostgresBackup } from '../../db/backup.ts'
import { parseUserId } from '../../db/ids.ts'
import { readKeyInventory } from '../../db/key-inventory.ts'
import { rotateMasterKeyOnline } from '../../db/rotate-master-key-online.ts'
import type { Lifecycle } from '../../lifecycle/lifecycle.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const BackupBody = t.Object({ passphrase: t.Optional(t.String({ minLength: 12, maxLength: 1024 })) })
const RotateMasterBody = t.Object({ new_key_file: t.Optional(t.String({ minLength: 1, maxLength: 4096 })) })
const RotateDataBody = t.Object({ user_id: t.Optional(t.String({ maxLength: 64 })) })

// note: the bodies are required objects ({} for the defaults), not optional: with an optional body
// Elysia read a missing or cut-short one as empty and would start, say, a rotation of every user.
export const adminKeyRoutes = (deps: AuthDeps, config: Config, lifecycle: Lifecycle) => {
  const { store, audit } = deps
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, config.trustedProxies).ip

  return new Elysia({ prefix: '/api/v1/admin' })
    .use(requireAuth(deps, config.trustedProxies))
    .get('/keys/status', async () => {
      const inventory = await readKeyInventory(store.sql)
      return {
        key_fingerprint: store.info.keyFingerprint,
        data_keys_by_version: inventory.dataKeysByVersion, owners: inventory.owners,
        values_by_version: inventory.valuesByVersion, values_by_column: inventory.valuesByColumn,
        data_key_rotation: lifecycle.rotationJob.progress(),
      }
    }, { auth: 'admin' })

    .post('/backup', async ({ body, principal, request, server }) => {
      // note: imported at the first backup: node:stream costs a start several MB it otherwise never uses.
      const { Readable } = await import('node:stream')
      const dir = mkdtempSync(join(tmpdir(), 'enclave-backup-'))
      const path = join(dir, 'enclave.backup')
      try {
        const options = { passphrase: body.passphrase ?? null, now: deps.now, filesDir: store.files.blobDirectory() }
        // note: on PostgreSQL the tables are copied in one read-only snapshot transaction, in the same format.
        const header = store.db === null ? (await createPostgresBackup(store.sql, path, options)).header : createBackup(store.db, path, options)
        const size = statSync(path).size
        // note: the file is unlinked once open, so nothing is left on disk whatever happens to the download.
        const fd = openSync(path, 'r')
        rmSync(dir, { recursive: true, force: true })
        const stream = createReadStream('', { fd, autoClose: true })
        stream.on('error', () => closeSync(fd))
        audit.record({ event: 'backup_created', actorId: principal.user.id, ip: ipOf(request, server), details: { bytes: size, encrypted: body.passphrase !== undefined, schema_version: header.schemaVersion } })
        const name = `enclave-${header.createdAt.replace(/[:.]/g, '-')}.backup`
        return new Response(Readable.toWeb(stream) as unknown as ReadableStream, {
          headers: { 'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="${name}"`, 'content-length': String(size) },
        })
      } catch (error) {
        rmSync(dir, { recursive: true, force: true })
        throw error
      }
    }, { auth: 'admin', body: BackupBody })

    .post('/keys/rotate-master', async ({ body, principal, request, server }) => {
      // note: the other instances keep the old key in memory and would wrap new data keys under it, unreadable after the rotation.
      refuseWithSeveralInstances(config, 'the master key')
      const result = await rotateMasterKeyOnline(store, config.masterKey, config.dataDir, body.new_key_file ?? null)
      if (!result.ok) {
        const status = result.reason === 'new_key_unusable' || result.reason === 'new_key_file_not_allowed' ? 422 : result.reason === 'same_key' ? 409 : 400
        throw new HttpError(status, result.reason, result.message)
      }
      audit.record({ event: 'master_key_rotated', actorId: principal.user.id, ip: ipOf(request, server), details: { from: result.previousFingerprint, to: result.fingerprint, data_keys: result.rewrappedKeys } })
      return {
        key_fingerprint: result.fingerprint, previous_key_fingerprint: result.previousFingerprint, rewrapped_data_keys: result.rewrappedKeys,
        key_file: result.keyFile, retired_key_file: result.retiredKeyFile,
        detail: result.configurationChangeNeeded
          ? `Set ENCRYPTION_KEY_FILE=${result.keyFile} before the next start. Every session has ended; sign in again.`
          : 'Every session has ended; sign in again.',
      }
    }, { auth: 'admin', body: RotateMasterBody })

    .post('/keys/rotate-data', async ({ body, principal, request, server, set }) => {
      // note: the other instances keep the old data keys in memory and would seal under versions the rotation destroys.
      refuseWithSeveralInstances(config, 'the data keys')
      let owners: string[] | null = null
      if (body.user_id !== undefined) {
        const id = parseUserId(body.user_id)
        if (id === null || await store.users.findUserById(id) === null) throw new HttpError(404, 'user_not_found', 'User not found.')
        owners = [id]
      }
      if (!(await lifecycle.rotationJob.start(owners))) throw new HttpError(409, 'rotation_running', 'A data key rotation is already running.')
      audit.record({ event: 'data_key_rotation_started', actorId: principal.user.id, targetId: owners?.[0] ?? null, ip: ipOf(request, server), details: { scope: owners === null ? 'all' : 'user' } })
      set.status = 202
      return lifecycle.rotationJob.progress()
    }, { auth: 'admin', body: RotateDataBody })

    .get('/keys/rotate-data', () => lifecycle.rotationJob.progress(), { auth: 'admin' })
}

/** Refuses a key rotation while other instances may share the PostgreSQL database (Redis configured): they hold the keys in memory. */
function refuseWithSeveralInstances(config: Config, what: string): void {
  if (config.postgres === null || config.cluster === null) return
  throw new HttpError(409, 'several_instances', `Several instances may share this PostgreSQL database (REDIS_URL is set), and each holds the keys in memory: rotate ${what} with one instance running, without REDIS_URL, then start the others again.`)
}
