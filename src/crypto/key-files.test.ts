import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyMaterialError } from './key-errors.ts'
import { readKeyFile, writeNewKeyFile } from './key-files.ts'

let dir = ''
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'enclave-')) })
afterEach(() => { rmSync(dir, { recursive: true, force: true }) })

const keyHex = '0f'.repeat(32)

function keyFileWithMode(mode: number, contents = `${keyHex}\n`): string {
  const path = join(dir, 'master.key')
  writeFileSync(path, contents)
  chmodSync(path, mode)
  return path
}

function thrownBy(action: () => unknown): Error {
  try {
    action()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected an error')
}

describe('readKeyFile', () => {
  test.each([['0600', 0o600], ['0400', 0o400], ['0700', 0o700]] as const)('accepts mode %s and returns the trimmed text', (_, mode) => {
    expect(readKeyFile(keyFileWithMode(mode, `  ${keyHex}\r\n\n`), 'ENCRYPTION_KEY_FILE')).toBe(keyHex)
  })

  test.each([['0640', 0o640], ['0604', 0o604], ['0644', 0o644], ['0660', 0o660], ['0606', 0o606], ['0610', 0o610], ['0601', 0o601], ['0777', 0o777]] as const)('refuses mode %s and says chmod 600', (_, mode) => {
    const path = keyFileWithMode(mode)
    const error = thrownBy(() => readKeyFile(path, 'ENCRYPTION_KEY_FILE'))
    expect(error).toBeInstanceOf(KeyMaterialError)
    expect(error.message).toContain(`chmod 600 ${path}`)
    expect(error.message).toContain(`mode ${mode.toString(8).padStart(4, '0')}`)
    expect(error.message).toContain('ENCRYPTION_KEY_FILE')
    expect(error.message).not.toContain(keyHex)
  })

  test('a missing file is a KeyMaterialError naming the path', () => {
    const path = join(dir, 'absent.key')
    const error = thrownBy(() => readKeyFile(path, 'The key file'))
    expect(error).toBeInstanceOf(KeyMaterialError)
    expect(error.message).toContain(path)
  })

  test('a directory in place of the file is a KeyMaterialError', () => {
    chmodSync(dir, 0o700)
    expect(() => readKeyFile(dir, 'The key file')).toThrow(KeyMaterialError)
  })
})

describe('writeNewKeyFile', () => {
  test('creates the file with mode 0600, the contents and a newline', () => {
    const path = join(dir, '.encryption_key')
    writeNewKeyFile(path, keyHex)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readFileSync(path, 'utf8')).toBe(`${keyHex}\n`)
    expect(readKeyFile(path, 'The key file')).toBe(keyHex)
  })

  test('keeps mode 0600 under a permissive umask', () => {
    const previous = process.umask(0o000)
    try {
      const path = join(dir, 'k')
      writeNewKeyFile(path, keyHex)
      expect(statSync(path).mode & 0o777).toBe(0o600)
    } finally {
      process.umask(previous)
    }
  })

  test('refuses to overwrite an existing file and leaves it as it was', () => {
    const path = keyFileWithMode(0o600, 'original\n')
    expect(() => writeNewKeyFile(path, keyHex)).toThrow()
    expect(readFileSync(path, 'utf8')).toBe('original\n')
  })
})
