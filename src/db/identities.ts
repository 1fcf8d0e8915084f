import { blindIndex } from '../crypto/blind-index.ts'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
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
 * by email, so a directory or provider can't take over an account by reusing an address. A link
 * made or removed moves the user's revision (it decides whether MFA_REQUIRED covers them).
 */
export function createIdentityRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  // note: the index covers the provider too, so the same subject at two providers stays two links.
  const subjectIndex = async (provider: IdentityProvider, subject: string) =>
    blindIndex((await keys.ringFor(EMAIL_INDEX_OWNER)).current.key, 'identity.subject', `${provider}\0${subject}`)
  // note: the index is the row's identity, and the AAD binds the sealed subject to it.
  const rowIdOf = (index: Uint8Array) => Buffer.from(index).toString('hex')

  return {
    /** Returns the local user linked to that external account, or null when none is. */
    async findUserIdByIdentity(provider: IdentityProvider, subject: string): Promise<UserId | null> {
      const row = await sql.get<{ user_id: string }>('SELECT user_id FROM identity WHERE subject_index = ?', await subjectIndex(provider, subject))
      return (row?.user_id ?? null) as UserId | null
    },

    /** Links the external account to the user; false when it is already linked (to anyone). */
    async linkIdentity(provider: IdentityProvider, subject: string, userId: UserId): Promise<boolean> {
      const index = await subjectIndex(provider, subject)
      const sealed = identityTable.sealColumn('subject', rowIdOf(index), subject, await keys.ringFor(userId))!
      const at = now()
      // note: the index is the primary key, so a second link of the same account inserts nothing.
      const inserted = await sql.run(`INSERT INTO identity (subject_index, provider, user_id, subject, created_at, last_login_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (subject_index) DO NOTHING`, index, provider, userId, sealed, at, at)
      if (inserted.changes === 1) changes.recordChanged(userId)
      return inserted.changes === 1
    },

    /** Records a sign-in through that external account. */
    async recordIdentityLogin(provider: IdentityProvider, subject: string): Promise<void> {
      await sql.run('UPDATE identity SET last_login_at = ? WHERE subject_index = ?', now(), await subjectIndex(provider, subject))
    },

    /** The external accounts linked to the user, oldest first. */
    async listIdentitiesOfUser(userId: UserId): Promise<Identity[]> {
      const rows = await sql.all<IdentityRow>(
        'SELECT subject_index, provider, subject, created_at, last_login_at FROM identity WHERE user_id = ? ORDER BY created_at', userId)
      const ring = await keys.ringFor(userId)
      return rows.map((row) => ({
        provider: row.provider,
        subject: identityTable.open(rowIdOf(row.subject_index), row, ring).subject!,
        createdAt: row.created_at,
        lastLoginAt: row.last_login_at,
      }))
    },

    /** Removes a link; the local user stays. */
    async unlinkIdentity(provider: IdentityProvider, subject: string): Promise<void> {
      const row = await sql.get<{ user_id: string }>('SELECT user_id FROM identity WHERE subject_index = ?', await subjectIndex(provider, subject))
      await sql.run('DELETE FROM identity WHERE subject_index = ?', await subjectIndex(provider, subject))
      if (row !== null) changes.recordChanged(row.user_id as UserId)
    },
  }
}

export type IdentityRepo = ReturnType<typeof createIdentityRepo>
