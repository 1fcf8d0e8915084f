import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { keyFingerprint } from '../../src/crypto/key-derivation.ts'
import { generateKey } from '../../src/crypto/random.ts'
import { requireBinary, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { seedDataDir } from '../helpers/seed-store.ts'

const tempDir = tempDirsRemovedAfterAll()
// note: port 1 has no listener, so the "is a server running?" probe answers no at once.
const NO_SERVER = { PORT: '1' }

function newKeyFile(dir: string, name: string): { path: string; hex: string; fingerprint: string } {
  const key = generateKey()
  const hex = Buffer.from(key).toString('hex')
  const path = join(dir, name)
  writeFileSync(path, `${hex}\n`)
  chmodSync(path, 0o600)
  return { path, hex, fingerprint: keyFingerprint(key) }
}

function storedFingerprint(dataDir: string): string {
  const db = new Database(join(dataDir, 'enclave.db'), { readonly: true })
  try {
    return String(db.query<{ value: string }, []>("SELECT value FROM meta WHERE name = 'key_fingerprint'").get()!.value)
  } finally {
    db.close()
  }
}

describe('enclave keys status', () => {
  test('names the source, fingerprint, key check and counts per version, never the key', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    await seedDataDir(dataDir, { users: 3, chats: 2, messages: 3 })
    const key = readFileSync(join(dataDir, '.encryption_key'), 'utf8').trim()
    const run = await runBinary(['keys', 'status'], { cwd })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`generated key file ${join(dataDir, '.encryption_key')}`)
    expect(run.stdout).toContain(`fingerprint ${keyFingerprint(Buffer.from(key, 'hex'))}`)
    expect(run.stdout).toContain('matches the configured key')
    expect(run.stdout).toContain('5 owners; version 1: 5')
    expect(run.stdout).toMatch(/message\.content\s+key version 1: 18/)
    expect(run.stdout).toMatch(/chat\.title\s+key version 1: 6/)
    expect(run.output).not.toContain(key)
  })

  test('a wrong key is reported, not used; no database exits 1', async () => {
    const cwd = tempDir()
    await seedDataDir(join(cwd, 'data'), { users: 1 })
    const other = 'cd'.repeat(32)
    const run = await runBinary(['keys', 'status'], { cwd, env: { ENCRYPTION_KEY: other } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('DOES NOT MATCH')
    expect(run.output).not.toContain(other)
    const empty = await runBinary(['keys', 'status'], { cwd: tempDir() })
    expect(empty.code).toBe(1)
    expect(empty.stderr).toContain('There is no Enclave database')
  })

  test.each([
    [['keys'], 'keys needs a subcommand'],
    [['keys', 'nope'], 'unknown keys subcommand'],
    [['keys', 'status', 'extra'], 'unexpected argument'],
    [['keys', 'status', '--bogus'], 'unknown option'],
    [['keys', 'rotate'], 'needs --new-key-file'],
    [['keys', 'rotate', '--new-key-file'], '--new-key-file needs a value'],
    [['backup'], 'backup needs FILE'],
    [['restore', 'x.backup'], 'restore needs --data-dir'],
    [['backup', 'a', '--force=yes'], '--force takes no value'],
    [['import', 'chatgpt', 'x'], 'unknown import subcommand'],
  ])('usage error %p exits 2', async (args, problem) => {
    const run = await runBinary(args, { cwd: tempDir() })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(problem)
  })
})

describe('enclave keys verify', () => {
  test('exit 0 when every field opens; exit 1 naming table, column and row of a damaged one', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    await seedDataDir(dataDir, { users: 2, chats: 1, messages: 2 })
    const ok = await runBinary(['keys', 'verify'], { cwd })
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/OK: all \d+ sealed values open/)

    const db = new Database(join(dataDir, 'enclave.db'))
    const row = db.query<{ id: number; chat_id: string }, []>('SELECT m.id, c.id AS chat_id FROM message m JOIN chat c ON c.seq = m.chat_seq ORDER BY m.id LIMIT 1').get()!
    // one ciphertext bit flipped (setting a byte to a fixed value left it unchanged once in 256 runs)
    const content = Uint8Array.from(db.query<{ content: Uint8Array }, [number]>('SELECT content FROM message WHERE id = ?').get(row.id)!.content)
    content[20]! ^= 0x01
    db.run('UPDATE message SET content = ? WHERE id = ?', [content, row.id])
    const chat = db.query<{ id: string; user_id: string }, []>('SELECT id, user_id FROM chat LIMIT 1').get()!
    // a title moved to another chat row must not open there either
    db.run('UPDATE chat SET title = (SELECT title FROM chat WHERE id != ? LIMIT 1) WHERE id = ?', [chat.id, chat.id])
    db.close()
    const before = readFileSync(join(dataDir, 'enclave.db'))
    const bad = await runBinary(['keys', 'verify'], { cwd })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain(`FAILED  message.content  row ${row.chat_id}/${row.id}`)
    expect(bad.stdout).toContain(`FAILED  chat.title  row ${chat.id}`)
    expect(readFileSync(join(dataDir, 'enclave.db')).equals(before)).toBe(true)
  })

  test('a damaged data key is named, and every value of its owner fails with it', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    const { userIds } = await seedDataDir(dataDir, { users: 2, chats: 1, messages: 1 })
    const db = new Database(join(dataDir, 'enclave.db'))
    const wrapped = Uint8Array.from(db.query<{ wrapped: Uint8Array }, [string]>('SELECT wrapped FROM data_key WHERE owner_id = ?').get(userIds[1]!)!.wrapped)
    wrapped[30]! ^= 0x01 // one bit flipped: a fixed byte matched the original once in 256 runs
    db.run('UPDATE data_key SET wrapped = ? WHERE owner_id = ?', [wrapped, userIds[1]!])
    db.close()
    const run = await runBinary(['keys', 'verify'], { cwd })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`FAILED  data_key.wrapped  row ${userIds[1]}/1`)
    expect(run.stdout).toContain(`FAILED  user.email  row ${userIds[1]}`)
    expect(run.stdout).not.toContain(`row ${userIds[0]}`)
  })

  test('a wrong key is refused before any field is tried', async () => {
    const cwd = tempDir()
    await seedDataDir(join(cwd, 'data'), { users: 1 })
    const run = await runBinary(['keys', 'verify'], { cwd, env: { ENCRYPTION_KEY: 'ef'.repeat(32) } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('does not match this database')
  })
})

describe('first start notice', () => {
  test('the start that generates the key says to back it up, with its path; later starts do not', async () => {
    const cwd = tempDir()
    const first = await startBinary({ cwd })
    await first.stop()
    const keyFile = join(cwd, 'data', '.encryption_key')
    expect(first.output()).toContain('BACK UP THE MASTER KEY')
    expect(first.output()).toContain(`A new master key was generated: ${keyFile}`)
    expect(first.output()).not.toContain(readFileSync(keyFile, 'utf8').trim())
    const second = await startBinary({ cwd })
    await second.stop()
    expect(second.output()).not.toContain('BACK UP THE MASTER KEY')
    expect(second.output()).not.toContain('was generated')
  })
})

describe('enclave keys rotate (server stopped)', () => {
  test('generated key: re-wraps every data key, installs the new key file, keeps the old one aside; data still opens', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    await seedDataDir(dataDir, { users: 20, chats: 1, messages: 2 })
    const oldFingerprint = storedFingerprint(dataDir)
    const next = newKeyFile(cwd, 'new.key')
    const run = await runBinary(['keys', 'rotate', '--new-key-file', next.path], { cwd, env: NO_SERVER })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`from ${oldFingerprint} to ${next.fingerprint}`)
    expect(run.stdout).toContain('22 data keys re-wrapped')
    expect(run.output).not.toContain(next.hex)
    expect(storedFingerprint(dataDir)).toBe(next.fingerprint)
    expect(readFileSync(join(dataDir, '.encryption_key'), 'utf8').trim()).toBe(next.hex)
    expect(readdirSync(dataDir)).toContain(`.encryption_key.retired-${oldFingerprint}`)
    expect((await runBinary(['keys', 'verify'], { cwd })).code).toBe(0)
    // the same key again is a no-op
    const again = await runBinary(['keys', 'rotate', '--new-key-file', next.path], { cwd, env: NO_SERVER })
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('already under the key')
  })

  test('ENCRYPTION_KEY_FILE: rotates, then the old key is refused and the new one starts', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    const old = newKeyFile(cwd, 'old.key')
    await seedDataDir(dataDir, { users: 3, chats: 1, messages: 1, masterKey: { kind: 'file', path: old.path } })
    const next = newKeyFile(cwd, 'new.key')
    const run = await runBinary(['keys', 'rotate', '--new-key-file', next.path], { cwd, env: { ...NO_SERVER, ENCRYPTION_KEY_FILE: old.path } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`Now set ENCRYPTION_KEY_FILE=${next.path}`)
    expect((await runBinary(['keys', 'verify'], { cwd, env: { ENCRYPTION_KEY_FILE: old.path } })).code).toBe(1)
    expect((await runBinary(['keys', 'verify'], { cwd, env: { ENCRYPTION_KEY_FILE: next.path } })).code).toBe(0)
  })

  test.each([
    ['a key file others may read', 0o644, 'chmod 600'],
    ['a short key', 0o600, 'too short'],
  ])('refuses %s and changes nothing', async (_, mode, message) => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    await seedDataDir(dataDir, { users: 1 })
    const path = join(cwd, 'bad.key')
    writeFileSync(path, mode === 0o600 ? 'short\n' : `${'12'.repeat(32)}\n`)
    chmodSync(path, mode)
    const before = readFileSync(join(dataDir, 'enclave.db'))
    const run = await runBinary(['keys', 'rotate', '--new-key-file', path], { cwd, env: NO_SERVER })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    expect(readFileSync(join(dataDir, 'enclave.db')).equals(before)).toBe(true)
    expect(existsSync(join(dataDir, '.encryption_key.previous'))).toBe(false)
  })

  test('refuses while a server answers on the configured port', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd })
    try {
      const port = new URL(server.url).port
      const next = newKeyFile(cwd, 'new.key')
      const run = await runBinary(['keys', 'rotate', '--new-key-file', next.path], { cwd, env: { PORT: port } })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain('stop it first')
    } finally {
      await server.stop()
    }
  })
})

describe('master key rotation interrupted at random points', () => {
  async function killedAfter(args: string[], cwd: string, env: Record<string, string>, delayMs: number) {
    const child = Bun.spawn([requireBinary(), ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdout: 'ignore', stderr: 'ignore' })
    await Bun.sleep(delayMs)
    child.kill('SIGKILL')
    await child.exited
  }

  test('generated key: after a kill anywhere, the server starts, and a start or a second run finishes it; nothing is lost', async () => {
    for (let round = 0; round < 5; round++) {
      const cwd = tempDir()
      const dataDir = join(cwd, 'data')
      const seeded = await seedDataDir(dataDir, { users: 1500 })
      const old = storedFingerprint(dataDir)
      const next = newKeyFile(cwd, 'new.key')
      await killedAfter(['keys', 'rotate', '--new-key-file', next.path], cwd, NO_SERVER, 20 + Math.floor(Math.random() * 400))
      expect([old, next.fingerprint]).toContain(storedFingerprint(dataDir))
      const server = await startBinary({ cwd })
      await server.stop()
      // killed before the new key reached the disk: the database is untouched, and running it again completes it
      if (storedFingerprint(dataDir) === old) expect((await runBinary(['keys', 'rotate', '--new-key-file', next.path], { cwd, env: NO_SERVER })).code).toBe(0)
      expect(storedFingerprint(dataDir)).toBe(next.fingerprint)
      expect(readFileSync(join(dataDir, '.encryption_key'), 'utf8').trim()).toBe(next.hex)
      const verify = await runBinary(['keys', 'verify'], { cwd })
      expect(verify.code).toBe(0)
      expect(verify.stdout).toContain(`all ${seeded.userIds.length * 3} sealed values open`)
    }
  }, 120_000)

  test('ENCRYPTION_KEY_FILE: after a kill anywhere, a start with ENCRYPTION_KEY_PREVIOUS_FILE finishes it', async () => {
    for (let round = 0; round < 4; round++) {
      const cwd = tempDir()
      const dataDir = join(cwd, 'data')
      const old = newKeyFile(cwd, 'old.key')
      await seedDataDir(dataDir, { users: 1500, masterKey: { kind: 'file', path: old.path } })
      const next = newKeyFile(cwd, 'new.key')
      await killedAfter(['keys', 'rotate', '--new-key-file', next.path], cwd, { ...NO_SERVER, ENCRYPTION_KEY_FILE: old.path }, 20 + Math.floor(Math.random() * 400))
      expect([old.fingerprint, next.fingerprint]).toContain(storedFingerprint(dataDir))
      if (storedFingerprint(dataDir) === old.fingerprint) {
        const status = await runBinary(['keys', 'status'], { cwd, env: { ENCRYPTION_KEY_FILE: next.path, ENCRYPTION_KEY_PREVIOUS_FILE: old.path } })
        expect(status.stdout).toContain('a master key rotation is pending and the next start finishes it')
      }
      const server = await startBinary({ cwd, env: { ENCRYPTION_KEY_FILE: next.path, ENCRYPTION_KEY_PREVIOUS_FILE: old.path } })
      await server.stop()
      expect(storedFingerprint(dataDir)).toBe(next.fingerprint)
      expect((await runBinary(['keys', 'verify'], { cwd, env: { ENCRYPTION_KEY_FILE: next.path } })).code).toBe(0)
    }
  }, 120_000)
})

describe('master key rotation through the admin API while the server runs (generated key)', () => {
  test('installs a new key file, ends every session, and the next start opens the data with it', async () => {
    const cwd = tempDir()
    const dataDir = join(cwd, 'data')
    const server = await startBinary({ cwd })
    const json = { 'content-type': 'application/json' }
    const signup = await (await fetch(`${server.url}/api/v1/auths/signup`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: 'correct horse battery' }) })).json() as { token: string }
    const auth = { ...json, authorization: `Bearer ${signup.token}` }
    await fetch(`${server.url}/api/v1/chats/new`, { method: 'POST', headers: auth, body: JSON.stringify({ chat: { title: 'survives rotation', messages: [{ role: 'user', content: 'hello' }] } }) })
    const oldKey = readFileSync(join(dataDir, '.encryption_key'), 'utf8').trim()
    const rotated = await fetch(`${server.url}/api/v1/admin/keys/rotate-master`, { method: 'POST', headers: auth, body: '{}' })
    expect(rotated.status).toBe(200)
    const body = await rotated.json() as { key_fingerprint: string; previous_key_fingerprint: string; retired_key_file: string }
    expect(JSON.stringify(body)).not.toContain(oldKey)
    const newKey = readFileSync(join(dataDir, '.encryption_key'), 'utf8').trim()
    expect(newKey).not.toBe(oldKey)
    expect(keyFingerprint(Buffer.from(newKey, 'hex'))).toBe(body.key_fingerprint)
    expect(readFileSync(body.retired_key_file, 'utf8').trim()).toBe(oldKey)
    expect(existsSync(join(dataDir, '.encryption_key.previous'))).toBe(false)
    expect((await fetch(`${server.url}/api/v1/chats/`, { headers: auth })).status).toBe(401)
    expect(server.output()).not.toContain(newKey)
    await server.stop()
    const again = await startBinary({ cwd })
    const signin = await (await fetch(`${again.url}/api/v1/auths/signin`, { method: 'POST', headers: json, body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }) })).json() as { token: string }
    const chats = await (await fetch(`${again.url}/api/v1/chats/`, { headers: { authorization: `Bearer ${signin.token}` } })).json() as { title: string }[]
    expect(chats.map((chat) => chat.title)).toEqual(['survives rotation'])
    await again.stop()
  })
})

describe('enclave keys rotate-data (server stopped)', () => {
  test('re-encrypts every value under new data keys; a run killed at a random point is finished by the next run', async () => {
    for (let round = 0; round < 3; round++) {
      const cwd = tempDir()
      const dataDir = join(cwd, 'data')
      await seedDataDir(dataDir, { users: 30, chats: 5, messages: 20 })
      const child = Bun.spawn([requireBinary(), 'keys', 'rotate-data', '--batch-size', '50'], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...NO_SERVER }, stdout: 'ignore', stderr: 'ignore' })
      await Bun.sleep(30 + Math.floor(Math.random() * 200))
      child.kill('SIGKILL')
      await child.exited
      expect((await runBinary(['keys', 'verify'], { cwd })).code).toBe(0)
      const before = (await runBinary(['keys', 'status'], { cwd })).stdout
      const interrupted = /version 1: \d+, version 2/.test(before) && !before.includes('version 1: 1, version 2: 31')
      const finishedBefore = before.includes('Data keys:         32 owners; version 1: 1, version 2: 31')
      const run = await runBinary(['keys', 'rotate-data', '--batch-size', '50'], { cwd, env: NO_SERVER })
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/Done: \d+ values re-encrypted/)
      if (interrupted) expect(run.stdout).toContain('Resuming an unfinished data key rotation')
      const status = await runBinary(['keys', 'status'], { cwd })
      // one key version in use for every value, and every user and the server on that one version
      const version = finishedBefore ? 3 : 2
      expect(status.stdout).toMatch(new RegExp(`Sealed values:\\s+key version ${version}: 3240\\n`))
      expect(status.stdout).toContain(`version 1: 1, version ${version}: 31`)
      expect((await runBinary(['keys', 'verify'], { cwd })).code).toBe(0)
    }
  }, 60_000)

  test.each([
    [['--batch-size', '0'], 'batch-size'],
    [['--batch-size', 'lots'], 'batch-size'],
    [['--user', 'nobody'], 'user id'],
  ])('refuses %p', async (args, message) => {
    const cwd = tempDir()
    await seedDataDir(join(cwd, 'data'), { users: 1 })
    const run = await runBinary(['keys', 'rotate-data', ...args], { cwd, env: NO_SERVER })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(message)
  })
})

describe('rotation by configuration: ENCRYPTION_KEY plus ENCRYPTION_KEY_PREVIOUS', () => {
  test('the start re-wraps under the new key, old sessions end, later starts say to remove the previous key', async () => {
    const cwd = tempDir()
    const oldKey = Buffer.from(generateKey()).toString('hex')
    const newKey = Buffer.from(generateKey()).toString('hex')
    const json = { 'content-type': 'application/json' }
    const first = await startBinary({ cwd, env: { ENCRYPTION_KEY: oldKey } })
    const { token } = await (await fetch(`${first.url}/api/v1/auths/signup`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: 'correct horse battery' }) })).json() as { token: string }
    await first.stop()

    const rotating = await startBinary({ cwd, env: { ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey } })
    expect(await rotating.outputWith('Finished the master key rotation')).toContain(`Finished the master key rotation from ${keyFingerprint(Buffer.from(oldKey, 'hex'))} to ${keyFingerprint(Buffer.from(newKey, 'hex'))}`)
    expect((await fetch(`${rotating.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401)
    expect((await fetch(`${rotating.url}/api/v1/auths/signin`, { method: 'POST', headers: json, body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse battery' }) })).status).toBe(200)
    expect(rotating.output()).not.toContain(oldKey)
    expect(rotating.output()).not.toContain(newKey)
    await rotating.stop()

    const again = await startBinary({ cwd, env: { ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey } })
    expect(await again.outputWith('the rotation is complete, so remove it')).toContain('the rotation is complete, so remove it')
    await again.stop()
    const plain = await startBinary({ cwd, env: { ENCRYPTION_KEY: newKey } })
    await plain.stop()
    const stale = await runBinary(['serve', '--port', '0'], { cwd, env: { ENCRYPTION_KEY: oldKey } })
    expect(stale.code).toBe(1)
    expect(stale.stderr).toContain('does not match this database')
  })

  test.each([
    ['both forms of the previous key', { ENCRYPTION_KEY_PREVIOUS: 'ab'.repeat(32), ENCRYPTION_KEY_PREVIOUS_FILE: '/nonexistent' }, 'choose one'],
    ['a previous key that is too short', { ENCRYPTION_KEY_PREVIOUS: 'not-a-key' }, 'ENCRYPTION_KEY_PREVIOUS is too short'],
    ['a previous key that opens nothing either', { ENCRYPTION_KEY_PREVIOUS: 'cd'.repeat(32), ENCRYPTION_KEY: 'ef'.repeat(32) }, 'does not match this database'],
  ])('refuses %s and changes nothing', async (_, env, message) => {
    const cwd = tempDir()
    await seedDataDir(join(cwd, 'data'), { users: 1 })
    const before = readFileSync(join(cwd, 'data', 'enclave.db'))
    const run = await runBinary(['serve', '--port', '0'], { cwd, env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(message)
    expect(run.output).not.toContain('not-a-key')
    expect(readFileSync(join(cwd, 'data', 'enclave.db')).equals(before)).toBe(true)
  })
})
