import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MasterKeySource } from '../config/load-config.ts'
import { keyFingerprint } from '../crypto/key-derivation.ts'
import { KeyMaterialError, KeyMismatchError } from '../crypto/key-errors.ts'
import type { UserId } from './ids.ts'
import { DATABASE_FILE, openStore } from './open-store.ts'

const PASSPHRASE = 'correct horse battery staple, and more words'
const OTHER_HEX = 'ab'.repeat(32)

let root = ''
let dataDir = ''
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'enclave-'))
  dataDir = join(root, 'data')
})
afterEach(() => { rmSync(root, { recursive: true, force: true }) })

const generated = (): MasterKeySource => ({ kind: 'generated', path: join(dataDir, '.encryption_key') })
const open = (masterKey: MasterKeySource = generated()) => openStore({ dataDir, masterKey, now: Date.now })
const mode = (path: string) => statSync(path).mode & 0o777

/** Creates a store with one user and closes it; returns the user's id. */
async function seed(masterKey: MasterKeySource = generated()): Promise<string> {
  const store = open(masterKey)
  const result = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'admin' })
  if (!result.ok) throw new Error(result.reason)
  await store.settings.writeSetting('greeting', { text: 'hello' })
  store.close()
  return result.user.id
}

/** Every entry under the directory (the blob directory `files/` included) with a hash of each file's bytes, to prove a refusal wrote nothing. */
function snapshot(dir: string): [string, string][] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((name) => {
    const path = join(dir, name)
    return [name, statSync(path).isDirectory() ? 'directory' : createHash('sha256').update(readFileSync(path)).digest('hex')]
  })
}

function thrownBy(action: () => unknown): Error {
  try {
    action()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected openStore to throw')
}

describe('first start', () => {
  test('creates DATA_DIR 0700, a 0600 key file of 64 hex digits, and a 0600 database', async () => {
    const store = open()
    const keyFile = join(dataDir, '.encryption_key')
    try {
      expect(mode(dataDir)).toBe(0o700)
      expect(mode(keyFile)).toBe(0o600)
      expect(mode(join(dataDir, DATABASE_FILE))).toBe(0o600)
      const text = readFileSync(keyFile, 'utf8')
      expect(text).toMatch(/^[0-9a-f]{64}\n$/)
      expect(store.info).toEqual({
        databasePath: join(dataDir, DATABASE_FILE), generatedKeyFile: keyFile, warnings: [],
        keyFingerprint: keyFingerprint(Buffer.from(text.trim(), 'hex')),
      })
    } finally {
      store.close()
    }
  })

  test('an existing empty DATA_DIR (a fresh clone\'s ./data, holding only .gitkeep) is made 0700 without a warning', () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o755 })
    chmodSync(dataDir, 0o755)
    writeFileSync(join(dataDir, '.gitkeep'), '')
    const store = open()
    try {
      expect(mode(dataDir)).toBe(0o700)
      expect(store.info.warnings).toEqual([])
    } finally {
      store.close()
    }
  })

  test('an existing DATA_DIR holding other files, that others may read, keeps its mode and gets a warning, not a refusal', async () => {
    mkdirSync(dataDir, { recursive: true })
    chmodSync(dataDir, 0o755)
    writeFileSync(join(dataDir, 'notes.txt'), 'mine')
    const store = open()
    try {
      expect(mode(dataDir)).toBe(0o755)
      expect(store.info.warnings).toEqual([expect.stringContaining(`chmod 700 ${dataDir}`)])
    } finally {
      store.close()
    }
  })

  test('with ENCRYPTION_KEY, writes no key file', async () => {
    const store = open({ kind: 'env', value: OTHER_HEX })
    store.close()
    expect(readdirSync(dataDir)).toEqual([DATABASE_FILE])
    expect(store.info.generatedKeyFile).toBeNull()
    expect(store.info.keyFingerprint).toBe(keyFingerprint(Buffer.from(OTHER_HEX, 'hex')))
  })

})

describe('reopening', () => {
  test('reuses the generated key and reads the data back', async () => {
    const id = await seed()
    const keyText = readFileSync(join(dataDir, '.encryption_key'), 'utf8')
    const store = open()
    try {
      expect(await store.users.findUserByEmail('ADA@example.com')).toMatchObject({ id, name: 'Ada', role: 'admin' })
      expect(await store.settings.readSetting('greeting')).toEqual({ text: 'hello' })
      expect(store.info.generatedKeyFile).toBeNull()
      expect(store.info.keyFingerprint).toBe(keyFingerprint(Buffer.from(keyText.trim(), 'hex')))
    } finally {
      store.close()
    }
    expect(readFileSync(join(dataDir, '.encryption_key'), 'utf8')).toBe(keyText)
  })

  test('a different key is refused with both fingerprints, never the keys, and nothing is written', async () => {
    await seed()
    const keyHex = readFileSync(join(dataDir, '.encryption_key'), 'utf8').trim()
    const before = snapshot(dataDir)
    const error = thrownBy(() => open({ kind: 'env', value: OTHER_HEX }))
    expect(error).toBeInstanceOf(KeyMismatchError)
    const expected = keyFingerprint(Buffer.from(keyHex, 'hex'))
    const given = keyFingerprint(Buffer.from(OTHER_HEX, 'hex'))
    expect(error).toMatchObject({ expectedFingerprint: expected, given: { fingerprint: given } })
    expect(error.message).toContain(expected)
    expect(error.message).toContain(given)
    for (const secret of [keyHex, OTHER_HEX, keyHex.slice(0, 16), OTHER_HEX.slice(0, 16)]) expect(error.message).not.toContain(secret)
    expect(snapshot(dataDir)).toEqual(before)
  })

  test('with uploaded files (the blob directory files/), a different key is refused and no blob or directory changes', async () => {
    const owner = (await seed()) as UserId
    const store = open()
    try {
      const source = async function* () { yield new TextEncoder().encode('a note kept as a file') }
      const uploaded = await store.files.create(owner, { name: 'note.txt', contentType: 'text/plain' }, source(), { maxFileBytes: 10 ** 6, quotaBytes: 10 ** 7 })
      expect(uploaded.ok).toBe(true)
    } finally {
      store.close()
    }
    const before = snapshot(dataDir)
    expect(before.some(([name]) => name.startsWith('files/'))).toBe(true)
    expect(thrownBy(() => open({ kind: 'env', value: OTHER_HEX }))).toBeInstanceOf(KeyMismatchError)
    expect(snapshot(dataDir)).toEqual(before)
  })

  test('a missing generated key file is refused, and no new key is generated', async () => {
    await seed()
    unlinkSync(join(dataDir, '.encryption_key'))
    const before = snapshot(dataDir)
    const error = thrownBy(() => open())
    expect(error).toBeInstanceOf(KeyMismatchError)
    expect(error).toMatchObject({ given: { instead: 'no key given' } })
    expect(error.message).toContain(join(dataDir, '.encryption_key'))
    expect(snapshot(dataDir)).toEqual(before)
  })

  test('a passphrase given to a database written with a hex key is refused', async () => {
    await seed({ kind: 'env', value: OTHER_HEX })
    const before = snapshot(dataDir)
    const error = thrownBy(() => open({ kind: 'env', value: PASSPHRASE }))
    expect(error).toBeInstanceOf(KeyMismatchError)
    expect(error.message).not.toContain(PASSPHRASE)
    expect(snapshot(dataDir)).toEqual(before)
  })
})

describe('passphrases (scrypt N=2^17, about 0.5 s each)', () => {
  test('a passphrase store reopens with the same passphrase, and refuses another', async () => {
    const id = await seed({ kind: 'env', value: PASSPHRASE })
    const store = open({ kind: 'env', value: `  ${PASSPHRASE}\n` })
    expect((await store.users.findUserById(id as never))?.email).toBe('ada@example.com')
    store.close()

    const before = snapshot(dataDir)
    const wrong = `${PASSPHRASE}!`
    const error = thrownBy(() => open({ kind: 'env', value: wrong }))
    expect(error).toBeInstanceOf(KeyMismatchError)
    expect(error.message).not.toContain(PASSPHRASE)
    expect(snapshot(dataDir)).toEqual(before)
  }, 15_000)

  test('a hex key given to a passphrase database is refused', async () => {
    await seed({ kind: 'env', value: PASSPHRASE })
    const error = thrownBy(() => open({ kind: 'env', value: OTHER_HEX }))
    expect(error).toBeInstanceOf(KeyMismatchError)
    expect(error.message).not.toContain(OTHER_HEX)
  }, 15_000)
})

describe('unusable key material is refused before anything is created', () => {
  test.each([['0644', 0o644], ['0640', 0o640], ['0604', 0o604]] as const)('an ENCRYPTION_KEY_FILE with mode %s outside DATA_DIR', (_, fileMode) => {
    const keyFile = join(root, 'master.key')
    writeFileSync(keyFile, `${OTHER_HEX}\n`)
    chmodSync(keyFile, fileMode)
    const error = thrownBy(() => open({ kind: 'file', path: keyFile }))
    expect(error).toBeInstanceOf(KeyMaterialError)
    expect(error.message).toContain('chmod 600')
    expect(error.message).not.toContain(OTHER_HEX)
    expect(existsSync(dataDir)).toBe(false)
    expect(readdirSync(root)).toEqual(['master.key'])
  })

  test.each([
    ['a short key', 'tooshort'],
    ['63 hex digits', OTHER_HEX.slice(1)],
  ])('ENCRYPTION_KEY that is %s', (_, value) => {
    const error = thrownBy(() => open({ kind: 'env', value }))
    expect(error).toBeInstanceOf(KeyMaterialError)
    expect(error.message).not.toContain(value)
    expect(existsSync(dataDir)).toBe(false)
  })

  test('a generated key file that others may read, next to an existing database', async () => {
    await seed()
    chmodSync(join(dataDir, '.encryption_key'), 0o644)
    const before = snapshot(dataDir)
    const error = thrownBy(() => open())
    expect(error).toBeInstanceOf(KeyMaterialError)
    expect(error.message).toContain('chmod 600')
    expect(snapshot(dataDir)).toEqual(before)
  })
})
