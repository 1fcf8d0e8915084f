import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeBackupFile } from '../../src/db/backup-file.ts'
import { createDataKeyRepo, SYSTEM_OWNER } from '../../src/db/data-keys.ts'
import { createSqliteEngine } from '../../src/db/sqlite-engine.ts'
import { writeKeyCheck } from '../../src/db/key-check.ts'
import { migrate } from '../../src/db/migrate.ts'
import { LATEST_SCHEMA_VERSION, migrations } from '../../src/db/migrations.ts'
import { closeDatabase, openDatabase } from '../../src/db/open-database.ts'
import { keyForNewDatabase } from '../../src/db/unlock.ts'
import { EMAIL_INDEX_OWNER } from '../../src/db/users.ts'
import { generateKey } from '../../src/crypto/random.ts'
import { hashPassword } from '../../src/auth/passwords.ts'
import { binaryForAnyUser, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { writeLinearChatDatabase } from '../helpers/linear-chat-database.ts'
import { seedDataDir } from '../helpers/seed-store.ts'

const tempDir = tempDirsRemovedAfterAll()

/** Every file under dir with a hash of its bytes, to prove a refusal changed nothing. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {}
  const files: Record<string, string> = {}
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    try {
      files[name] = Bun.hash(readFileSync(join(dir, name))).toString()
    } catch {
      files[name] = 'directory'
    }
  }
  return files
}

/** A data dir with a few chats, and a copy of its key usable as ENCRYPTION_KEY_FILE. */
async function seededDir(): Promise<{ cwd: string; keyFile: string }> {
  const cwd = tempDir()
  await seedDataDir(join(cwd, 'data'), { users: 2, chats: 2, messages: 3, marker: 'seeded' })
  const keyFile = join(cwd, 'master.key')
  copyFileSync(join(cwd, 'data', '.encryption_key'), keyFile)
  chmodSync(keyFile, 0o600)
  return { cwd, keyFile }
}

function secretFile(dir: string, name: string, text: string, mode = 0o600): string {
  const path = join(dir, name)
  writeFileSync(path, `${text}\n`)
  chmodSync(path, mode)
  return path
}

describe('a backup taken during heavy writes', () => {
  test('restores to a consistent state: every chat whole, every field opens, the server starts on it', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd })
    const signup = await fetch(`${server.url}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: 'correct horse battery' }) })
    const { token } = await signup.json() as { token: string }
    let stop = false
    let created = 0
    const writer = async () => {
      while (!stop) {
        const res = await fetch(`${server.url}/api/v1/chats/new`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ chat: { title: `chat ${created}`, messages: Array.from({ length: 5 }, (_, m) => ({ role: 'user', content: `message ${m} ${'x'.repeat(500)}` })) } }),
        })
        if (res.status === 200) created++
      }
    }
    const writers = [writer(), writer(), writer()]
    await Bun.sleep(200)
    const backups: string[] = []
    try {
      for (let i = 0; i < 3; i++) {
        const run = await runBinary(['backup', `b${i}.backup`], { cwd })
        expect(run.code).toBe(0)
        backups.push(join(cwd, `b${i}.backup`))
        await Bun.sleep(100)
      }
    } finally {
      stop = true
      await Promise.all(writers)
      await server.stop()
    }
    expect(created).toBeGreaterThan(10)
    const keyFile = secretFile(cwd, 'master.key', readFileSync(join(cwd, 'data', '.encryption_key'), 'utf8').trim())
    for (const [i, backup] of backups.entries()) {
      const target = join(cwd, `restored${i}`)
      const restored = await runBinary(['restore', backup, '--data-dir', target], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
      expect(restored.code).toBe(0)
      const db = new Database(join(target, 'enclave.db'), { readonly: true })
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
      expect(db.query('SELECT count(*) AS n FROM (SELECT chat_seq FROM message GROUP BY chat_seq HAVING count(*) != 5)').get()).toEqual({ n: 0 })
      expect(db.query('SELECT count(*) AS n FROM chat WHERE seq NOT IN (SELECT chat_seq FROM message)').get()).toEqual({ n: 0 })
      db.close()
      expect((await runBinary(['keys', 'verify', '--data-dir', target], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })).code).toBe(0)
    }
    const again = await startBinary({ cwd, args: ['--data-dir', join(cwd, 'restored2')], env: { ENCRYPTION_KEY_FILE: keyFile } })
    const signin = await fetch(`${again.url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }) })
    expect(signin.status).toBe(200)
    await again.stop()
  }, 60_000)
})

describe('enclave backup', () => {
  test('writes a 0600 file with the header; refuses to overwrite without --force', async () => {
    const { cwd } = await seededDir()
    const first = await runBinary(['backup', 'x.backup'], { cwd })
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/schema version \d+, key fingerprint [0-9a-f-]{19}/)
    const bytes = readFileSync(join(cwd, 'x.backup'))
    expect(bytes.subarray(0, 8).toString()).toBe('ENCLBKP1')
    expect(bytes.includes(Buffer.from('seeded'))).toBe(false)
    const again = await runBinary(['backup', 'x.backup'], { cwd })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already exists')
    expect(readFileSync(join(cwd, 'x.backup')).equals(bytes)).toBe(true)
    expect((await runBinary(['backup', 'x.backup', '--force'], { cwd })).code).toBe(0)
    expect(readdirSync(cwd).filter((name) => name.startsWith('.enclave-'))).toEqual([])
    expect((await runBinary(['backup', 'y.backup'], { cwd: tempDir() })).stderr).toContain('There is no Enclave database')
    const nowhere = await runBinary(['backup', join(cwd, 'no', 'such', 'dir', 'z.backup')], { cwd })
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toContain('does not exist: create it first')
  })

  test('with --passphrase-file: restore needs the same passphrase', async () => {
    const { cwd, keyFile } = await seededDir()
    const passphrase = secretFile(cwd, 'pass', `pass-${crypto.randomUUID()}`)
    const wrong = secretFile(cwd, 'wrong', `wrong-${crypto.randomUUID()}`)
    expect((await runBinary(['backup', 'enc.backup', '--passphrase-file', passphrase], { cwd })).code).toBe(0)
    const bytes = readFileSync(join(cwd, 'enc.backup'))
    expect(bytes.subarray(0, 8).toString()).toBe('ENCLBKE1')
    expect(bytes.includes(Buffer.from('ENCLBKP1'))).toBe(false)
    const target = join(cwd, 'restored')
    const env = { ENCRYPTION_KEY_FILE: keyFile }
    const without = await runBinary(['restore', 'enc.backup', '--data-dir', target], { cwd, env })
    expect(without.code).toBe(1)
    expect(without.stderr).toContain('needs_passphrase')
    const withWrong = await runBinary(['restore', 'enc.backup', '--data-dir', target, '--passphrase-file', wrong], { cwd, env })
    expect(withWrong.code).toBe(1)
    expect(withWrong.stderr).toContain('wrong_passphrase_or_damaged')
    expect(existsSync(target)).toBe(false)
    const right = await runBinary(['restore', 'enc.backup', '--data-dir', target, '--passphrase-file', passphrase], { cwd, env })
    expect(right.code).toBe(0)
    expect((await runBinary(['keys', 'verify', '--data-dir', target], { cwd, env })).code).toBe(0)
  }, 30_000)

  test.each([
    ['readable by others', `pass-${'q'.repeat(20)}`, 0o644, 'chmod 600'],
    ['too short', 'tiny-secret', 0o600, 'too short'],
  ])('refuses a passphrase file %s', async (_, text, mode, message) => {
    const { cwd } = await seededDir()
    const run = await runBinary(['backup', 'p.backup', '--passphrase-file', secretFile(cwd, 'pass', text, mode)], { cwd })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    expect(run.output).not.toContain(text)
    expect(existsSync(join(cwd, 'p.backup'))).toBe(false)
  })
})

describe('enclave restore refuses before touching the data directory', () => {
  async function refusedRestore(cwd: string, backup: string, env: Record<string, string>, reason: string, extra: string[] = []) {
    const target = join(cwd, 'target')
    const before = snapshot(target)
    const run = await runBinary(['restore', backup, '--data-dir', target, ...extra], { cwd, env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`restore refused (${reason})`)
    expect(run.stderr).toContain('Nothing in')
    expect(snapshot(target)).toEqual(before)
    expect(readdirSync(cwd).filter((name) => name.startsWith('.enclave-restore'))).toEqual([])
  }

  test('a wrong key', async () => {
    const { cwd } = await seededDir()
    await runBinary(['backup', 'b.backup'], { cwd })
    const other = secretFile(cwd, 'other.key', Buffer.from(generateKey()).toString('hex'))
    await refusedRestore(cwd, 'b.backup', { ENCRYPTION_KEY_FILE: other }, 'key_mismatch')
  })

  test('no key at all for an empty data directory', async () => {
    const { cwd } = await seededDir()
    await runBinary(['backup', 'b.backup'], { cwd })
    await refusedRestore(cwd, 'b.backup', {}, 'no_key')
  })

  test('an existing database without --force, then replaced with it', async () => {
    const { cwd, keyFile } = await seededDir()
    await runBinary(['backup', 'b.backup'], { cwd })
    const target = join(cwd, 'target')
    await seedDataDir(target, { users: 1, masterKey: { kind: 'file', path: keyFile } })
    await refusedRestore(cwd, 'b.backup', { ENCRYPTION_KEY_FILE: keyFile }, 'database_exists')
    const forced = await runBinary(['restore', 'b.backup', '--data-dir', target, '--force'], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile, PORT: '1' } })
    expect(forced.code).toBe(0)
    // the replaced database's WAL files and the copy made on the way are gone; nothing else is left behind
    expect(readdirSync(target).filter((name) => /restoring|replaced|-wal$|-shm$/.test(name))).toEqual([])
    const status = await runBinary(['keys', 'status', '--data-dir', target], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(status.stdout).toContain('4 owners')
  })

  test('as an unprivileged user into a data directory whose parent it may not write (the container: DATA_DIR=/data)', async () => {
    const { cwd, keyFile } = await seededDir()
    await runBinary(['backup', 'b.backup'], { cwd })
    const nobody = 65534
    const binary = binaryForAnyUser(tempDir)
    // the user can reach its files but write only in its own data directory
    chmodSync(cwd, 0o755)
    for (const file of ['b.backup', 'master.key']) chownSync(join(cwd, file), nobody, nobody)
    const parent = join(cwd, 'srv')
    const target = join(parent, 'data')
    mkdirSync(target, { recursive: true, mode: 0o700 })
    chmodSync(parent, 0o755)
    chownSync(target, nobody, nobody)
    const child = Bun.spawn(['setpriv', `--reuid=${nobody}`, `--regid=${nobody}`, '--clear-groups', binary, 'restore', 'b.backup', '--data-dir', target], {
      cwd, env: { PATH: process.env.PATH ?? '', ENCRYPTION_KEY_FILE: keyFile, PORT: '1' }, stdout: 'pipe', stderr: 'pipe',
    })
    const [code, stderr] = [await child.exited, await new Response(child.stderr).text()]
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(readdirSync(parent)).toEqual(['data'])
    expect(readdirSync(target)).toContain('enclave.db')
  })

  test('a newer schema', async () => {
    const { cwd, keyFile } = await seededDir()
    const db = openDatabase(join(cwd, 'data', 'enclave.db'))
    db.run(`PRAGMA user_version = ${LATEST_SCHEMA_VERSION + 1}`)
    closeDatabase(db)
    const fingerprint = (await runBinary(['keys', 'status'], { cwd })).stdout.match(/fingerprint ([0-9a-f-]{19})/)![1]!
    writeBackupFile(join(cwd, 'data', 'enclave.db'), join(cwd, 'newer.backup'), { schemaVersion: LATEST_SCHEMA_VERSION + 1, keyFingerprint: fingerprint, createdAt: new Date().toISOString() })
    await refusedRestore(cwd, 'newer.backup', { ENCRYPTION_KEY_FILE: keyFile }, 'schema_too_new')
  })

  test('a damaged payload, a file that is no backup, a truncated one, an unknown format version', async () => {
    const { cwd, keyFile } = await seededDir()
    await runBinary(['backup', 'b.backup'], { cwd })
    const bytes = readFileSync(join(cwd, 'b.backup'))
    const flipped = Buffer.from(bytes)
    flipped[flipped.length - 100]! ^= 1
    writeFileSync(join(cwd, 'flipped.backup'), flipped)
    await refusedRestore(cwd, 'flipped.backup', { ENCRYPTION_KEY_FILE: keyFile }, 'checksum_mismatch')
    writeFileSync(join(cwd, 'short.backup'), bytes.subarray(0, bytes.length - 1))
    await refusedRestore(cwd, 'short.backup', { ENCRYPTION_KEY_FILE: keyFile }, 'checksum_mismatch')
    writeFileSync(join(cwd, 'plain.db'), readFileSync(join(cwd, 'data', 'enclave.db')))
    await refusedRestore(cwd, 'plain.db', { ENCRYPTION_KEY_FILE: keyFile }, 'not_a_backup')
    const headerEnd = bytes.indexOf(Buffer.from('"format":2'))
    const future = Buffer.from(bytes)
    future.write('"format":9', headerEnd)
    writeFileSync(join(cwd, 'future.backup'), future)
    await refusedRestore(cwd, 'future.backup', { ENCRYPTION_KEY_FILE: keyFile }, 'unknown_format')
    writeFileSync(join(cwd, 'empty.backup'), '')
    await refusedRestore(cwd, 'empty.backup', { ENCRYPTION_KEY_FILE: keyFile }, 'not_a_backup')
  })
})

describe('an edited plain backup (checksum fixed up) with objects Enclave did not create', () => {
  test.each([
    ['a trigger', "CREATE TRIGGER every_session_admin AFTER INSERT ON session BEGIN UPDATE user SET role = 'admin' WHERE id = NEW.user_id; END", 'trigger "every_session_admin"'],
    ['a view', 'CREATE VIEW user_roles AS SELECT id, role FROM user', 'view "user_roles"'],
    ['an extra table', 'CREATE TABLE stash (payload BLOB)', 'table "stash"'],
    ['an extra index', 'CREATE INDEX user_by_role ON user (role)', 'index "user_by_role"'],
    ['an extra column', 'ALTER TABLE user ADD COLUMN note TEXT', 'table "user"'],
    ['a table defined otherwise', 'DROP TABLE group_member; CREATE TABLE group_member (group_id TEXT, user_id TEXT)', 'table "group_member"'],
    ['a dropped index', 'DROP INDEX session_by_user', 'index "session_by_user"'],
  ])('%s is refused, naming the object, and nothing is restored', async (_, edit, named) => {
    const { cwd, keyFile } = await seededDir()
    const db = openDatabase(join(cwd, 'data', 'enclave.db'))
    db.run(edit)
    closeDatabase(db)
    const fingerprint = (await runBinary(['keys', 'status'], { cwd })).stdout.match(/fingerprint ([0-9a-f-]{19})/)![1]!
    writeBackupFile(join(cwd, 'data', 'enclave.db'), join(cwd, 'edited.backup'), { schemaVersion: LATEST_SCHEMA_VERSION, keyFingerprint: fingerprint, createdAt: new Date().toISOString() })
    const target = join(cwd, 'target')
    const run = await runBinary(['restore', 'edited.backup', '--data-dir', target], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('restore refused (unexpected_schema)')
    expect(run.stderr).toContain(named)
    expect(existsSync(target)).toBe(false)
  })

  test('an unedited backup of the same data restores', async () => {
    const { cwd, keyFile } = await seededDir()
    expect((await runBinary(['backup', 'b.backup'], { cwd })).code).toBe(0)
    const run = await runBinary(['restore', 'b.backup', '--data-dir', join(cwd, 'target')], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
  })
})

describe('an older schema', () => {
  test('is migrated forward on restore, and the server starts on it', async () => {
    const cwd = tempDir()
    const key = generateKey()
    const keyFile = secretFile(cwd, 'master.key', Buffer.from(key).toString('hex'))
    mkdirSync(join(cwd, 'old'))
    const db = openDatabase(join(cwd, 'old', 'enclave.db'))
    migrate(db, migrations, 2)
    const { keyCheck } = keyForNewDatabase({ kind: 'raw', key })
    writeKeyCheck(db, keyCheck)
    const dataKeys = createDataKeyRepo(createSqliteEngine(db), key, Date.now)
    dataKeys.createKeyForOwner(SYSTEM_OWNER)
    dataKeys.createKeyForOwner(EMAIL_INDEX_OWNER)
    closeDatabase(db)
    writeBackupFile(join(cwd, 'old', 'enclave.db'), join(cwd, 'old.backup'), { schemaVersion: 2, keyFingerprint: keyCheck.fingerprint, createdAt: new Date().toISOString() })
    rmSync(join(cwd, 'old'), { recursive: true })
    const run = await runBinary(['restore', 'old.backup', '--data-dir', join(cwd, 'target')], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`schema migrated from version 2 to ${LATEST_SCHEMA_VERSION}`)
    const server = await startBinary({ cwd, args: ['--data-dir', join(cwd, 'target')], env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(await server.stop()).toBe(0)
  })
  test('a schema-5 backup of linear chats: restored and started, each chat is one branch, ids kept, readable, re-sealed with its chat id', async () => {
    const cwd = tempDir()
    const hex = Buffer.from(generateKey()).toString('hex')
    const keyFile = secretFile(cwd, 'master.key', hex)
    mkdirSync(join(cwd, 'old'))
    const password = 'correct horse battery'
    const { chats, fingerprint } = writeLinearChatDatabase(join(cwd, 'old', 'enclave.db'), { kind: 'env', value: hex }, 5, await hashPassword(password))
    writeBackupFile(join(cwd, 'old', 'enclave.db'), join(cwd, 'old.backup'), { schemaVersion: 5, keyFingerprint: fingerprint, createdAt: new Date().toISOString() })
    rmSync(join(cwd, 'old'), { recursive: true })
    const target = join(cwd, 'target')
    const run = await runBinary(['restore', 'old.backup', '--data-dir', target], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`schema migrated from version 5 to ${LATEST_SCHEMA_VERSION}`)
    const server = await startBinary({ cwd, args: ['--data-dir', target], env: { ENCRYPTION_KEY_FILE: keyFile } })
    try {
      const signin = await fetch(`${server.url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password }) })
      expect(signin.status).toBe(200)
      const { token } = (await signin.json()) as { token: string }
      const adas = chats.filter((chat) => chat.email === 'ada@example.com')
      for (const old of adas) {
        const res = await fetch(`${server.url}/api/v1/chats/${old.id}`, { headers: { authorization: `Bearer ${token}` } })
        expect(res.status).toBe(200)
        const { title, chat } = (await res.json()) as { title: string; chat: { history: { currentId: string; messages: Record<string, { id: string; parentId: string | null; childrenIds: string[]; role: string; content: string }> } } }
        expect(title).toBe(old.title)
        const ids = old.messages.map((message) => String(message.id))
        expect(chat.history.currentId).toBe(ids.at(-1)!)
        expect(Object.values(chat.history.messages).map(({ id, parentId, childrenIds, role, content }) => ({ id, parentId, childrenIds, role, content }))).toEqual(
          old.messages.map((message, i) => ({ id: ids[i]!, parentId: ids[i - 1] ?? null, childrenIds: ids.slice(i + 1, i + 2), role: message.role, content: message.content })))
      }
      const bobs = chats.find((chat) => chat.email === 'bob@example.com')!
      expect((await fetch(`${server.url}/api/v1/chats/${bobs.id}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404)
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const db = new Database(join(target, 'enclave.db'), { readonly: true })
    // note: the upgrade at start re-sealed every old message; nothing is left waiting for it.
    expect(db.query("SELECT count(*) AS n FROM meta WHERE name = 'message_legacy_aad_up_to'").get()).toEqual({ n: 0 })
    db.close()
    expect(readFileSync(join(target, 'enclave.db')).includes(Buffer.from('OLD-CONTENT'))).toBe(false)
    expect((await runBinary(['keys', 'verify', '--data-dir', target], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })).code).toBe(0)
  }, 60_000)
})
