import type { Database } from 'bun:sqlite'
import { blindIndex } from '../crypto/blind-index.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

/** Where an external account lives: the LDAP directory, or an OpenID provider by its id. */
export type IdentityProvider = 'ldap' | `oidc:${string}`

export type Identity = { provider: IdentityProvider; subject: string; createdAt: number; lastLoginAt: number }

const identityTable = sealedTable('identity', { subject: 'text' })

type IdentityRow = { subject_index: Uint8Array; provider: IdentityProvider; subject: Uint8Array; created_at: number; last_login_at: number }

/**
 * Links between local users and accounts held elsewhere: an LDAP entry (by entryUUID or DN) or an
 * OpenID subject (issuer and sub). A link is found by the blind index of (provider, subject), never
 * by email, so a directory or provider can't take over an account by reusing an address.
 */
export function createIdentityRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const insertIdentity = db.query<void, [Uint8Array, string, string, Uint8Array, number, number]>(
    'INSERT INTO identity (subject_index, provider, user_id, subject, created_at, last_login_at) VALUES (?, ?, ?, ?, ?, ?)')
  const selectUserId = db.query<{ user_id: string }, [Uint8Array]>('SELECT user_id FROM identity WHERE subject_index = ?')
  const selectByUser = db.query<IdentityRow, [string]>(
    'SELECT subject_index, provider, subject, created_at, last_login_at FROM identity WHERE user_id = ? ORDER BY created_at')
  const updateLastLogin = db.query<void, [number, Uint8Array]>('UPDATE identity SET last_login_at = ? WHERE subject_index = ?')
  const deleteIdentity = db.query<void, [Uint8Array]>('DELETE FROM identity WHERE subject_index = ?')

  // note: the index covers the provider too, so the same subject at two providers stays two links.
  const subjectIndex = (provider: IdentityProvider, subject: string) =>
    blindIndex(keys.keysForOwner(EMAIL_INDEX_OWNER).current.key, 'identity.subject', `${provider}\0${subject}`)
  // note: the index is the row's identity, and the AAD binds the sealed subject to it.
  const rowIdOf = (index: Uint8Array) => Buffer.from(index).toString('hex')

  return {
    /** Returns the local user linked to that external account, or null when none is. */
    findUserIdByIdentity(provider: IdentityProvider, subject: string): UserId | null {
      return (selectUserId.get(subjectIndex(provider, subject))?.user_id ?? null) as UserId | null
    },

    /** Links the external account to the user; false when it is already linked (to anyone). */
    linkIdentity(provider: IdentityProvider, subject: string, userId: UserId): boolean {
      const index = subjectIndex(provider, subject)
      if (selectUserId.get(index) !== null) return false
      const sealed = identityTable.sealColumn('subject', rowIdOf(index), subject, keys.keysForOwner(userId))!
      const at = now()
      insertIdentity.run(index, provider, userId, sealed, at, at)
      return true
    },

    /** Records a sign-in through that external account. */
    recordIdentityLogin(provider: IdentityProvider, subject: string): void {
      updateLastLogin.run(now(), subjectIndex(provider, subject))
    },

    /** The external accounts linked to the user, oldest first. */
    listIdentitiesOfUser(userId: UserId): Identity[] {
      return selectByUser.all(userId).map((row) => ({
        provider: row.provider,
        subject: identityTable.open(rowIdOf(row.subject_index), row, keys.keysForOwner(userId)).subject!,
        createdAt: row.created_at,
        lastLoginAt: row.last_login_at,
      }))
    },

    /** Removes a link; the local user stays. */
    unlinkIdentity(provider: IdentityProvider, subject: string): void {
      deleteIdentity.run(subjectIndex(provider, subject))
    },
  }
}

export type IdentityRepo = ReturnType<typeof createIdentityRepo>
