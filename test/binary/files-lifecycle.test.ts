/**
 * Files through the key and data lifecycle, with the compiled binary: `enclave keys rotate-data`
 * re-seals every file key and the files still download byte for byte; `enclave backup` carries the
 * encrypted blobs (no file name or content readable in it, passphrase or not) and `enclave restore`
 * brings them back into a new DATA_DIR, where they download byte for byte; deleting the account
 * leaves no blob behind.
 */
import { expect, test } from 'bun:test'
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, PASSWORD } from '../helpers/accounts.ts'
import { countStoredRows, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { makePng } from '../helpers/sample-files.ts'

const tempDir = tempDirsRemovedAfterAll()
const NAME = 'MARKER-LIFECYCLENAME-4c1a'
const TEXT = `MARKER-LIFECYCLETEXT-b7e2 ${'a line of the document\n'.repeat(20_000)}`
const NO_SERVER = { PORT: '1' }

async function upload(url: string, token: string, name: string, bytes: Uint8Array): Promise<string> {
  const form = new FormData()
  form.append('file', new File([Buffer.from(bytes)], name))
  const res = await fetch(`${url}/api/v1/files/`, { method: 'POST', headers: bearer(token), body: form })
  expect(res.status).toBe(200)
  return (await res.json() as { id: string }).id
}

async function download(url: string, token: string, id: string): Promise<Buffer> {
  const res = await fetch(`${url}/api/v1/files/${id}/content`, { headers: bearer(token) })
  expect(res.status).toBe(200)
  return Buffer.from(await res.arrayBuffer())
}

async function signIn(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }) })
  expect(res.status).toBe(200)
  return (await res.json() as { token: string }).token
}

test('rotate-data, backup (plain and with a passphrase) and restore keep files whole and unreadable at rest', async () => {
  const cwd = tempDir()
  const png = makePng(32, 32, 4)
  let server = await startBinary({ cwd })
  const signup = await fetch(`${server.url}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', email: 'ada@example.com', password: PASSWORD }) })
  let token = (await signup.json() as { token: string }).token
  const textId = await upload(server.url, token, `${NAME}.md`, Buffer.from(TEXT))
  const imageId = await upload(server.url, token, `${NAME}.png`, png)
  await server.stop()

  const rotated = await runBinary(['keys', 'rotate-data'], { cwd, env: NO_SERVER })
  expect(rotated.code).toBe(0)
  // every file key is now sealed under the owner's data key version 2, the only one left
  expect(countStoredRows(cwd, 'file', "hex(substr(file_key, 2, 4)) = '00000002' AND hex(substr(name, 2, 4)) = '00000002'")).toBe(2)
  expect(countStoredRows(cwd, 'data_key', "owner_id = (SELECT user_id FROM file LIMIT 1)")).toBe(1)

  const keyFile = join(cwd, 'master.key')
  writeFileSync(keyFile, readFileSync(join(cwd, 'data', '.encryption_key'), 'utf8'))
  chmodSync(keyFile, 0o600)
  const passphraseFile = join(cwd, 'passphrase')
  writeFileSync(passphraseFile, 'a long backup passphrase for files\n')
  chmodSync(passphraseFile, 0o600)
  expect((await runBinary(['backup', 'plain.backup'], { cwd })).code).toBe(0)
  expect((await runBinary(['backup', 'secret.backup', '--passphrase-file', passphraseFile], { cwd })).code).toBe(0)
  for (const name of ['plain.backup', 'secret.backup']) {
    const bytes = readFileSync(join(cwd, name))
    expect(bytes.length).toBeGreaterThan(png.length)
    for (const marker of [NAME, 'MARKER-LIFECYCLETEXT-b7e2', 'a line of the document']) expect([name, marker, bytes.indexOf(Buffer.from(marker))]).toEqual([name, marker, -1])
  }

  for (const [backup, extra] of [['plain.backup', []], ['secret.backup', ['--passphrase-file', passphraseFile]]] as const) {
    const target = join(cwd, `restored-${backup}`)
    const restored = await runBinary(['restore', backup, '--data-dir', target, ...extra], { cwd, env: { ENCRYPTION_KEY_FILE: keyFile } })
    expect(restored.code).toBe(0)
    expect(readdirSync(join(target, 'files')).sort()).toEqual([textId, imageId].sort())
    server = await startBinary({ cwd, args: ['--data-dir', target], env: { ENCRYPTION_KEY_FILE: keyFile } })
    token = await signIn(server.url)
    expect((await download(server.url, token, textId)).toString()).toBe(TEXT)
    expect((await download(server.url, token, imageId)).equals(png)).toBe(true)
    await server.stop()
  }

  // deleting the account removes its blobs
  server = await startBinary({ cwd })
  token = await signIn(server.url)
  const me = await (await fetch(`${server.url}/api/v1/auths/`, { headers: bearer(token) })).json() as { id: string }
  const other = await fetch(`${server.url}/api/v1/auths/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bob', email: 'bob@example.com', password: PASSWORD }) })
  const bob = await other.json() as { id: string }
  // the admin deletes bob's account after bob uploaded a file
  await fetch(`${server.url}/api/v1/users/${bob.id}/update`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ role: 'user' }) })
  const bobToken = (await (await fetch(`${server.url}/api/v1/auths/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bob@example.com', password: PASSWORD }) })).json() as { token: string }).token
  const bobsFile = await upload(server.url, bobToken, 'bob.txt', Buffer.from('bob text'))
  expect(readdirSync(join(cwd, 'data', 'files'))).toContain(bobsFile)
  expect((await fetch(`${server.url}/api/v1/users/${bob.id}`, { method: 'DELETE', headers: bearer(token) })).status).toBe(200)
  expect(readdirSync(join(cwd, 'data', 'files'))).not.toContain(bobsFile)
  expect(readdirSync(join(cwd, 'data', 'files')).sort()).toEqual([textId, imageId].sort())
  expect(me.id).not.toBe(bob.id)
  await server.stop()
})
