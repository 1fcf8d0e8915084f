import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from './config-error.ts'
import { loadConfig } from './load-config.ts'

const dir = mkdtempSync(join(tmpdir(), 'enclave-secret-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const secretValue = `session-${crypto.randomUUID()}`
function fileWith(name: string, content: string, mode = 0o600): string {
  const file = join(dir, name)
  writeFileSync(file, content)
  chmodSync(file, mode)
  return file
}

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ env, cwd: dir })
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('WEBUI_SECRET_KEY_FILE', () => {
  test('its content (one trailing newline dropped) is the session secret; a relative path starts at cwd', () => {
    fileWith('secret', `${secretValue}\n`)
    expect(loadConfig({ env: { WEBUI_SECRET_KEY_FILE: join(dir, 'secret') }, cwd: dir }).sessionSecret).toBe(secretValue)
    expect(loadConfig({ env: { WEBUI_SECRET_KEY_FILE: 'secret' }, cwd: dir }).sessionSecret).toBe(secretValue)
  })

  test.each([
    ['readable by others', () => fileWith('open', secretValue, 0o644), 'chmod 600'],
    ['readable by the group', () => fileWith('group', secretValue, 0o640), 'chmod 600'],
    ['missing', () => join(dir, 'missing'), 'a file Enclave\'s user can read'],
    ['empty', () => fileWith('empty', '\n'), 'it is empty'],
    ['a directory', () => dir, 'a file Enclave\'s user can read'],
  ])('a file %s is refused, naming the file, never its content', (_, file, expected) => {
    const message = problemsOf({ WEBUI_SECRET_KEY_FILE: file() })
    expect(message).toContain('WEBUI_SECRET_KEY_FILE')
    expect(message).toContain(expected)
    expect(message).not.toContain(secretValue)
  })

  test('set together with WEBUI_SECRET_KEY (or the older name) is refused: choose one', () => {
    const file = fileWith('both', secretValue)
    for (const name of ['WEBUI_SECRET_KEY', 'WEBUI_JWT_SECRET_KEY']) {
      const message = problemsOf({ [name]: 'another-secret-value', WEBUI_SECRET_KEY_FILE: file })
      expect(message).toContain('choose one')
      expect(message).not.toContain('another-secret-value')
    }
  })
})
