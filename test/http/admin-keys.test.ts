import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, signIn, signUp, PASSWORD } from '../helpers/accounts.ts'
import { makeRoot, startKeyedApp, writeKeyFile, type KeyedApp } from '../helpers/keyed-test-app.ts'
import { req } from '../helpers/test-app.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { openStore } from '../../src/db/open-store.ts'
import { restoreBackup } from '../../src/db/restore.ts'
import { rotateMasterKeyOnline } from '../../src/db/rotate-master-key-online.ts'
import { keyFingerprint } from '../../src/crypto/key-derivation.ts'

let root = ''
let remove = () => {}
let key = { path: '', hex: '' }
let running: KeyedApp
let admin = ''
let user = ''

beforeEach(async () => {
  ({ root, remove } = makeRoot())
  key = writeKeyFile(root, 'master.key')
  running = startKeyedApp(root, key.path)
  admin = (await signUp(running.app, 'admin@example.com')).token
  const member = await signUp(running.app, 'user@example.com', PASSWORD, 'Bob')
  await running.store.users.setUserRole(member.id as never, 'user')
  user = member.token
})
afterEach(async () => {
  await running.close()
  remove()
})

const call = (method: string, path: string, token: string | null, body?: unknown) =>
  running.app.handle(req(method, path, body, token === null ? {} : bearer(token)))

describe('access', () => {
  test.each([
    ['GET', '/api/v1/admin/keys/status'], ['POST', '/api/v1/admin/backup'], ['POST', '/api/v1/admin/keys/rotate-master'],
    ['POST', '/api/v1/admin/keys/rotate-data'], ['GET', '/api/v1/admin/keys/rotate-data'],
  ])('%s %s: 401 without a credential, 403 for a user', async (method, path) => {
    const body = method === 'POST' ? {} : undefined
    expect((await call(method, path, null, body)).status).toBe(401)
    expect((await call(method, path, user, body)).status).toBe(403)
  })
})

describe('malformed bodies', () => {
  test.each([
    ['/api/v1/admin/backup', 'not json at all'],
    ['/api/v1/admin/backup', { passphrase: ['x'.repeat(20)] }],
    ['/api/v1/admin/keys/rotate-master', { new_key_file: 42 }],
    ['/api/v1/admin/keys/rotate-data', { user_id: 5 }],
    ['/api/v1/admin/keys/rotate-data', '{"user_id":'],
  ])('%s with %p is refused without side effects', async (path, body) => {
    const res = await running.app.handle(req('POST', path, body, { ...bearer(admin), ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}) }))
    expect([400, 422]).toContain(res.status)
    expect(running.audit.entries.filter((entry) => ['backup_created', 'master_key_rotated', 'data_key_rotation_started'].includes(entry.event))).toEqual([])
    expect(running.lifecycle.rotationJob.progress().state).toBe('idle')
  })
})

describe('GET /api/v1/admin/keys/status', () => {
  test('fingerprint and counts per version, never the key', async () => {
    const res = await call('GET', '/api/v1/admin/keys/status', admin)
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).not.toContain(key.hex)
    const body = JSON.parse(text)
    expect(body.key_fingerprint).toBe(keyFingerprint(Buffer.from(key.hex, 'hex')))
    expect(body.owners).toBe(4)
    expect(body.values_by_version).toEqual([{ version: 1, count: expect.any(Number) }])
  })
})

describe('POST /api/v1/admin/backup', () => {
  test('downloads a backup that restores under the same key; audited; nothing left on disk', async () => {
    await call('POST', '/api/v1/chats/new', admin, { chat: { title: 'kept in backup', messages: [{ role: 'user', content: 'hello' }] } })
    const res = await call('POST', '/api/v1/admin/backup', admin, {})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="enclave-.*\.backup"$/)
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect(Buffer.from(bytes.subarray(0, 8)).toString()).toBe('ENCLBKP1')
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length)
    writeFileSync(join(root, 'download.backup'), bytes)
    const restored = restoreBackup({ backupPath: join(root, 'download.backup'), dataDir: join(root, 'restored'), passphrase: null, masterKey: { kind: 'file', path: key.path }, force: false })
    expect(restored.ok).toBe(true)
    const again = startKeyedApp(join(root, 'restored', '..'), key.path, { DATA_DIR: join(root, 'restored') })
    const token = (await signIn(again.app, 'admin@example.com')).token
    const chats = await (await again.app.handle(req('GET', '/api/v1/chats/', undefined, bearer(token)))).json()
    expect(chats.map((chat: { title: string }) => chat.title)).toEqual(['kept in backup'])
    await again.close()
    expect(running.audit.entries.filter((entry) => entry.event === 'backup_created')).toHaveLength(1)
  })

  test('with a passphrase the whole file is encrypted; short or odd passphrases are refused', async () => {
    const passphrase = `backup-${crypto.randomUUID()}`
    const res = await call('POST', '/api/v1/admin/backup', admin, { passphrase })
    expect(res.status).toBe(200)
    const bytes = Buffer.from(await res.arrayBuffer())
    expect(bytes.subarray(0, 8).toString()).toBe('ENCLBKE1')
    expect(bytes.includes(Buffer.from('SQLite format 3'))).toBe(false)
    expect(running.audit.entries.at(-1)).toMatchObject({ event: 'backup_created', details: { encrypted: true } })
    expect(JSON.stringify(running.audit.entries)).not.toContain(passphrase)
    for (const body of [{ passphrase: 'short' }, { passphrase: 'x'.repeat(2000) }, { passphrase: 12345678901234 }]) {
      expect((await call('POST', '/api/v1/admin/backup', admin, body)).status).toBe(422)
    }
  }, 20_000)
})

describe('POST /api/v1/admin/keys/rotate-master', () => {
  test('re-wraps under the new key file; every session ends; data opens after a restart with the new key', async () => {
    await call('POST', '/api/v1/chats/new', user, { chat: { title: 'before rotation', messages: [{ role: 'user', content: 'secret words' }] } })
    const next = writeKeyFile(join(root, 'data'), '.encryption_key.new')
    const res = await call('POST', '/api/v1/admin/keys/rotate-master', admin, { new_key_file: next.path })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.key_fingerprint).toBe(keyFingerprint(Buffer.from(next.hex, 'hex')))
    expect(body.rewrapped_data_keys).toBe(4)
    expect(body.detail).toContain(`ENCRYPTION_KEY_FILE=${next.path}`)
    expect(JSON.stringify(body)).not.toContain(next.hex)
    expect((await call('GET', '/api/v1/chats/', user)).status).toBe(401)
    expect((await call('GET', '/api/v1/chats/', admin)).status).toBe(401)
    expect(running.audit.entries.at(-1)).toMatchObject({ event: 'master_key_rotated' })
    const fresh = (await signIn(running.app, 'user@example.com')).token
    expect((await (await call('GET', '/api/v1/chats/', fresh)).json())[0].title).toBe('before rotation')
    await running.close()
    running = startKeyedApp(root, next.path)
    const after = (await signIn(running.app, 'user@example.com')).token
    expect((await (await call('GET', '/api/v1/chats/', after)).json())[0].title).toBe('before rotation')
  })

  const inDataDir = (name: string) => join(root, 'data', name)
  test.each([
    ['a relative path', () => '.encryption_key.new', 422, 'new_key_file_not_allowed'],
    ['a missing file', () => inDataDir('.encryption_key.new'), 422, 'new_key_unusable'],
    ['a file others may read', () => { const file = writeKeyFile(join(root, 'data'), '.encryption_key.new'); chmodSync(file.path, 0o644); return file.path }, 422, 'new_key_unusable'],
    ['a file that is no key', () => { const path = inDataDir('.encryption_key.new-junk'); writeFileSync(path, 'abc\n'); chmodSync(path, 0o600); return path }, 422, 'new_key_unusable'],
    ['the current key', () => key.path, 409, 'same_key'],
    ['a directory', () => { mkdirSync(inDataDir('.encryption_key.new-dir')); return inDataDir('.encryption_key.new-dir') }, 422, 'new_key_unusable'],
    ['a huge file', () => { const path = inDataDir('.encryption_key.new'); writeFileSync(path, 'a'.repeat(1024 * 1024)); chmodSync(path, 0o600); return path }, 422, 'new_key_unusable'],
    ['a path longer than any', () => `/${'x'.repeat(5000)}`, 422, 'invalid_request'],
    ['no file with ENCRYPTION_KEY_FILE configured', () => undefined, 400, 'new_key_file_required'],
    ['/proc/self/environ', () => '/proc/self/environ', 422, 'new_key_file_not_allowed'],
    ['a key file outside DATA_DIR', () => writeKeyFile(root, 'outside.key').path, 422, 'new_key_file_not_allowed'],
    ['a way out of DATA_DIR with ..', () => { writeKeyFile(root, '.encryption_key.new'); return `${join(root, 'data')}/../.encryption_key.new` }, 422, 'new_key_file_not_allowed'],
    ['a symbolic link in DATA_DIR to a key outside', () => { symlinkSync(writeKeyFile(root, 'outside.key').path, inDataDir('.encryption_key.new')); return inDataDir('.encryption_key.new') }, 422, 'new_key_file_not_allowed'],
    ['a key in DATA_DIR under another name', () => writeKeyFile(join(root, 'data'), 'next.key').path, 422, 'new_key_file_not_allowed'],
    ['the retired or previous key names', () => writeKeyFile(join(root, 'data'), '.encryption_key.previous').path, 422, 'new_key_file_not_allowed'],
    ['a label with a slash', () => inDataDir('.encryption_key.new-a/b'), 422, 'new_key_file_not_allowed'],
    ['a trailing slash', () => `${writeKeyFile(join(root, 'data'), '.encryption_key.new').path}/`, 422, 'new_key_file_not_allowed'],
    ['a NUL byte', () => `${inDataDir('.encryption_key.new')}\0x`, 422, 'new_key_file_not_allowed'],
  ])('refuses %s and keeps every session', async (_, file, status, code) => {
    const path = file()
    const res = await call('POST', '/api/v1/admin/keys/rotate-master', admin, path === undefined ? {} : { new_key_file: path })
    expect(res.status).toBe(status)
    const body = await res.json()
    expect(body.code).toBe(code)
    if (path !== undefined && existsSync(path) && statSync(path).isFile() && !path.startsWith('/proc/')) expect(JSON.stringify(body)).not.toContain(readFileSync(path, 'utf8').trim() || 'never')
    expect(JSON.stringify(body)).not.toContain('PATH=')
    expect((await call('GET', '/api/v1/chats/', admin)).status).toBe(200)
    expect(running.audit.entries.filter((entry) => entry.event === 'master_key_rotated')).toEqual([])
  })

  test('a path outside the accepted places gets the same answer whether or not a file is there', async () => {
    writeKeyFile(root, 'present.key')
    const answers = new Set<string>()
    for (const path of ['/proc/self/environ', '/proc/self/no-such-file', join(root, 'present.key'), join(root, 'absent.key'), `${join(root, 'data')}/../present.key`, `${join(root, 'data')}/../absent.key`]) {
      const res = await call('POST', '/api/v1/admin/keys/rotate-master', admin, { new_key_file: path })
      answers.add(`${res.status} ${JSON.stringify(await res.json())}`)
    }
    expect([...answers]).toHaveLength(1)
  })

  test('a key written to DATA_DIR/.encryption_key.new-LABEL is accepted', async () => {
    const next = writeKeyFile(join(root, 'data'), '.encryption_key.new-2026')
    const res = await call('POST', '/api/v1/admin/keys/rotate-master', admin, { new_key_file: next.path })
    expect(res.status).toBe(200)
    expect((await res.json()).key_fingerprint).toBe(keyFingerprint(Buffer.from(next.hex, 'hex')))
  })
})

describe('online rotation with a generated key file', () => {
  test('a stale .previous file is moved aside, never taken for the database key', async () => {
    await running.close()
    const { root: genRoot, remove: removeGen } = makeRoot()
    const config = loadConfig({ env: { DATA_DIR: join(genRoot, 'data') }, cwd: genRoot })
    const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now })
    try {
      const keyPath = join(genRoot, 'data', '.encryption_key')
      writeKeyFile(join(genRoot, 'data'), '.encryption_key.previous')
      const current = readFileSync(keyPath, 'utf8').trim()
      const result = await rotateMasterKeyOnline(store, config.masterKey, config.dataDir, null)
      expect(result.ok).toBe(true)
      if (!result.ok) return
      expect(readFileSync(result.retiredKeyFile!, 'utf8').trim()).toBe(current)
      expect(existsSync(`${keyPath}.previous`)).toBe(false)
      expect(keyFingerprint(Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'hex'))).toBe(result.fingerprint)
    } finally {
      store.close()
      removeGen()
      running = startKeyedApp(root, key.path)
    }
  })
})
