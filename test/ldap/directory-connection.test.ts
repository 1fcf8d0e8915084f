/**
 * The directory connection itself (src/auth/ldap-directory.ts) against a real slapd: the guard
 * that keeps a lost StartTLS connection from being silently reopened in the clear.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { DirectoryError, openDirectory } from '../../src/auth/ldap-directory.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { startSlapd, type Slapd } from '../helpers/slapd.ts'

let slapd: Slapd
// note: making keys and starting slapd can take a while on a loaded machine.
beforeAll(async () => { slapd = await startSlapd() }, 30_000)
afterAll(async () => { await slapd?.remove() })

const settings = (mode: 'plain' | 'ldaps' | 'starttls') => loadConfig({ env: slapd.env(mode), cwd: process.cwd() }).ldap!

test('a StartTLS connection lost after the upgrade is not reopened in the clear: the bind is refused', async () => {
  const directory = await openDirectory(settings('starttls'))
  try {
    await slapd.stop()
    await slapd.restart()
    // note: without the guard, ldapts would reconnect plain and send the app password unencrypted.
    const bind = directory.bindAsApp()
    await expect(bind).rejects.toBeInstanceOf(DirectoryError)
    await expect(bind).rejects.toMatchObject({ failure: 'unreachable' })
  } finally {
    await directory.close()
  }
}, 15_000)

test('a connection lost between the search and the user bind ends the conversation too', async () => {
  const directory = await openDirectory(settings('ldaps'))
  try {
    await directory.bindAsApp()
    expect(await directory.searchUsers('(uid=bob)', ['cn'], 2)).toHaveLength(1)
    await slapd.stop()
    await slapd.restart()
    await expect(directory.bindAsUser(slapd.users.bob!.dn, slapd.users.bob!.password)).rejects.toMatchObject({ failure: 'unreachable' })
  } finally {
    await directory.close()
  }
}, 15_000)

test('close() is safe to call twice and after a failure', async () => {
  const directory = await openDirectory(settings('plain'))
  await directory.bindAsApp()
  await directory.close()
  await directory.close()
  await expect(directory.bindAsApp()).rejects.toBeInstanceOf(DirectoryError)
})
