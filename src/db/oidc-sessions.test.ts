import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FieldOpenError } from './field-open-error.ts'
import { DATABASE_FILE, openMemoryStore, openStore, type Store } from './open-store.ts'
import type { SessionId } from './sessions.ts'

const MARKERS = { id: 'MARKER-IDTOKEN-41c2', access: 'MARKER-ACCESS-9e07', refresh: 'MARKER-REFRESH-d35b', sid: 'MARKER-SID-77aa' }

async function userWithSession(store: Store, email: string, provider = 'oidc', sid: string | null = MARKERS.sid) {
  const created = await store.users.createUser({ email, name: 'N', role: 'user' })
  if (!created.ok) throw new Error(created.reason)
  const sessionId = crypto.randomUUID() as SessionId
  await store.sessions.createSession({ id: sessionId, userId: created.user.id, expiresAt: null, userAgent: null, ip: null })
  await store.oidcSessions.recordOidcSession({
    sessionId, userId: created.user.id, provider, sid, tokens: { idToken: MARKERS.id, accessToken: MARKERS.access, refreshToken: MARKERS.refresh },
  })
  return { userId: created.user.id, sessionId }
}

describe('single sign-on sessions', () => {
  test('tokens come back for their owner only; sid finds the user; revocation is per provider', async () => {
    const store = openMemoryStore()
    const ada = await userWithSession(store, 'ada@example.org')
    const other = await userWithSession(store, 'bob@example.org', 'google', null)
    expect(await store.oidcSessions.findOidcSessionTokens(ada.userId, ada.sessionId)).toEqual({
      provider: 'oidc', tokens: { idToken: MARKERS.id, accessToken: MARKERS.access, refreshToken: MARKERS.refresh },
    })
    expect(await store.oidcSessions.findOidcSessionTokens(other.userId, ada.sessionId)).toBeNull()
    expect(await store.oidcSessions.findUserIdBySid('oidc', MARKERS.sid)).toBe(ada.userId)
    expect(await store.oidcSessions.findUserIdBySid('google', MARKERS.sid)).toBeNull()
    expect(await store.oidcSessions.revokeOidcSessionsOfUser(ada.userId, 'google')).toBe(0)
    expect(await store.oidcSessions.revokeOidcSessionsOfUser(ada.userId, 'oidc')).toBe(1)
    expect(await store.sessions.findLiveSessionOwner(ada.sessionId)).toBeNull()
    expect(await store.sessions.findLiveSessionOwner(other.sessionId)).toBe(other.userId)
    expect(await store.oidcSessions.listLiveOidcSessionIds(ada.userId)).toEqual([])
  })

  test('a token moved to another session row does not open', async () => {
    const store = openMemoryStore()
    const first = await userWithSession(store, 'ada@example.org')
    await store.sessions.createSession({ id: 'second' as SessionId, userId: first.userId, expiresAt: null, userAgent: null, ip: null })
    await store.oidcSessions.recordOidcSession({ sessionId: 'second' as SessionId, userId: first.userId, provider: 'oidc', sid: null, tokens: { idToken: 'x', accessToken: null, refreshToken: null } })
    store.db.run('UPDATE oidc_session SET id_token = (SELECT id_token FROM oidc_session WHERE session_id = ?) WHERE session_id = ?', [first.sessionId, 'second'])
    await expect(store.oidcSessions.findOidcSessionTokens(first.userId, 'second' as SessionId)).rejects.toThrow(FieldOpenError)
  })

  describe('on disk', () => {
    let dataDir = ''
    beforeEach(() => { dataDir = join(mkdtempSync(join(tmpdir(), 'enclave-')), 'data') })
    afterEach(() => { rmSync(join(dataDir, '..'), { recursive: true, force: true }) })

    test('no token or sid is in the database, WAL or shared memory files', async () => {
      const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
      await userWithSession(store, 'ada@example.org')
      const scan = () => [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]
        .map((name) => join(dataDir, name)).filter((path) => existsSync(path)).map((path) => readFileSync(path).toString('latin1')).join('')
      const open = scan()
      store.close()
      for (const text of [open, scan()]) for (const marker of Object.values(MARKERS)) expect(text.includes(marker)).toBe(false)
    })
  })
})
