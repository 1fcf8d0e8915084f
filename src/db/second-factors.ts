/**
 * Second factors of an account: one TOTP secret, its recovery codes, and passkeys.
 *
 *   totp_factor   secret sealed under the user's data key (AAD rowId = user id); enabled_at null
 *                 until a first correct code; last_used_step = newest 30 s step accepted
 *   recovery_code SHA-256 of (user id, code), each used once (used_at)
 *   passkey       credential id, public key and name sealed (AAD rowId = passkey id);
 *                 credential_index = SHA-256 of the credential id, to find it at sign-in
 *
 * Threat: a copy of the database (a backup, a stolen disk) must not yield a TOTP secret or a
 * recovery code; a code seen once (shoulder-surfed, phished) must not work a second time. So a step
 * is accepted only when it is newer than the last one accepted, in one UPDATE, and a recovery code
 * only while its used_at is null, in one UPDATE.
 */
import { createHash } from 'node:crypto'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

export type PasskeyId = string & { readonly brand: 'PasskeyId' }

/** The TOTP factor of a user: `enabled` false while it waits for its first code. */
export type TotpFactor = { secret: Uint8Array; enabled: boolean; lastUsedStep: number | null }

export type Passkey = {
  id: PasskeyId; userId: UserId; credentialId: Uint8Array; publicKey: Uint8Array; name: string
  signCount: number; createdAt: number; lastUsedAt: number | null
}

/** Which factors a user has, for the admin's list and the enrolment rule. */
export type FactorSummary = { totp: boolean; passkeys: number; recoveryCodesLeft: number }

const totpTable = sealedTable('totp_factor', { secret: 'bytes' })
const passkeyTable = sealedTable('passkey', { credential_id: 'bytes', public_key: 'bytes', name: 'text' })

type TotpRow = { secret: Uint8Array; enabled_at: number | null; last_used_step: number | null }
const PASSKEY_COLUMNS = 'id, user_id, credential_id, public_key, name, sign_count, created_at, last_used_at'

type PasskeyRow = {
  id: string; user_id: string; credential_id: Uint8Array; public_key: Uint8Array; name: Uint8Array
  sign_count: number; created_at: number; last_used_at: number | null
}

/** The stored form of a recovery code: bound to its user, so one user's codes never match another's. */
export const hashRecoveryCode = (userId: UserId, code: string) => new Uint8Array(createHash('sha256').update(`${userId}\n${code}`).digest())

/** The lookup form of a credential id (not secret, but sealed like the rest; this finds it). */
export const indexCredentialId = (credentialId: Uint8Array) => new Uint8Array(createHash('sha256').update(credentialId).digest())

/** Every user's factors, one row each; "user" quoted: a reserved word in PostgreSQL. */
const SUMMARIES = `
  SELECT u.id AS user_id,
    CASE WHEN EXISTS (SELECT 1 FROM totp_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL) THEN 1 ELSE 0 END AS totp,
    (SELECT count(*) FROM passkey p WHERE p.user_id = u.id) AS passkeys,
    (SELECT count(*) FROM recovery_code r WHERE r.user_id = u.id AND r.used_at IS NULL) AS codes
  FROM "user" u`
const HAS_FACTOR = `
  SELECT CASE WHEN EXISTS (SELECT 1 FROM totp_factor WHERE user_id = ? AND enabled_at IS NOT NULL)
      OR EXISTS (SELECT 1 FROM passkey WHERE user_id = ?) THEN 1 ELSE 0 END AS has`

/** Factor changes move the user's revision (account-changes.ts), so an admission remembered with the old enrolment rule is read again. */
export function createSecondFactorRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  const changed = <T>(userId: UserId, value: T): T => {
    changes.recordChanged(userId)
    return value
  }
  const toPasskey = async (row: PasskeyRow): Promise<Passkey> => {
    const plain = passkeyTable.open(row.id, row, await keys.ringFor(row.user_id))
    return {
      id: row.id as PasskeyId, userId: row.user_id as UserId, credentialId: plain.credential_id!, publicKey: plain.public_key!, name: plain.name!,
      signCount: row.sign_count, createdAt: row.created_at, lastUsedAt: row.last_used_at,
    }
  }

  return {
    /** Stores a new, not yet enabled TOTP secret for the user, replacing any pending or enabled one. */
    async setPendingTotp(userId: UserId, secret: Uint8Array): Promise<void> {
      await sql.run(`INSERT INTO totp_factor (user_id, secret, enabled_at, last_used_step, created_at) VALUES (?, ?, NULL, NULL, ?)
        ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled_at = NULL, last_used_step = NULL, created_at = excluded.created_at`,
      userId, totpTable.sealColumn('secret', userId, secret, await keys.ringFor(userId))!, now())
    },

    /** The user's TOTP factor, enabled or pending; null when they have none. */
    async findTotp(userId: UserId): Promise<TotpFactor | null> {
      const row = await sql.get<TotpRow>('SELECT secret, enabled_at, last_used_step FROM totp_factor WHERE user_id = ?', userId)
      if (row === null) return null
      const secret = totpTable.openColumn('secret', userId, row.secret, await keys.ringFor(userId))!
      return { secret, enabled: row.enabled_at !== null, lastUsedStep: row.last_used_step }
    },

    /** Switches the pending TOTP factor on, `step` being the one its first code used; false when there is none pending. */
    async enableTotp(userId: UserId, step: number): Promise<boolean> {
      const result = await sql.run('UPDATE totp_factor SET enabled_at = ?, last_used_step = ? WHERE user_id = ? AND enabled_at IS NULL', now(), step, userId)
      return changed(userId, result.changes === 1)
    },

    /** Marks `step` used if it is newer than the last accepted one; false when it is not (a replay). */
    async useTotpStep(userId: UserId, step: number): Promise<boolean> {
      const result = await sql.run(
        'UPDATE totp_factor SET last_used_step = ? WHERE user_id = ? AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < ?)', step, userId, step)
      return result.changes === 1
    },

    /** Removes the user's TOTP factor and recovery codes. */
    async deleteTotp(userId: UserId): Promise<void> {
      await sql.transaction(async () => {
        await sql.run('DELETE FROM totp_factor WHERE user_id = ?', userId)
        await sql.run('DELETE FROM recovery_code WHERE user_id = ?', userId)
      })
      changed(userId, undefined)
    },

    /** Replaces the user's recovery codes with these (plain codes in, hashes stored). */
    async replaceRecoveryCodes(userId: UserId, codes: readonly string[]): Promise<void> {
      const at = now()
      await sql.transaction(async () => {
        await sql.run('DELETE FROM recovery_code WHERE user_id = ?', userId)
        for (const code of codes) {
          await sql.run('INSERT INTO recovery_code (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)', userId, hashRecoveryCode(userId, code), at)
        }
      })
    },

    /** Uses one recovery code; false when it is not one of the user's or was used already. */
    async useRecoveryCode(userId: UserId, code: string): Promise<boolean> {
      const result = await sql.run('UPDATE recovery_code SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL', now(), userId, hashRecoveryCode(userId, code))
      return result.changes === 1
    },

    async countRecoveryCodesLeft(userId: UserId): Promise<number> {
      const row = await sql.get<{ n: number | string }>('SELECT count(*) AS n FROM recovery_code WHERE user_id = ? AND used_at IS NULL', userId)
      return Number(row?.n ?? 0)
    },

    /** Whether the user has an enabled TOTP factor or a passkey. */
    async hasSecondFactor(userId: UserId): Promise<boolean> {
      return Number((await sql.get<{ has: number | string }>(HAS_FACTOR, userId, userId))?.has) === 1
    },

    /** Every user's factors, by user id. */
    async summariseFactors(): Promise<Map<UserId, FactorSummary>> {
      const rows = await sql.all<{ user_id: string; totp: number | string; passkeys: number | string; codes: number | string }>(SUMMARIES)
      return new Map(rows.map((row) => [row.user_id as UserId, { totp: Number(row.totp) === 1, passkeys: Number(row.passkeys), recoveryCodesLeft: Number(row.codes) }]))
    },

    /** Removes every second factor of the user; says what there was. */
    async resetSecondFactors(userId: UserId): Promise<{ totp: boolean; passkeys: number }> {
      const removed = await sql.transaction(async () => {
        const totp = (await sql.run('DELETE FROM totp_factor WHERE user_id = ?', userId)).changes > 0
        await sql.run('DELETE FROM recovery_code WHERE user_id = ?', userId)
        const passkeys = (await sql.run('DELETE FROM passkey WHERE user_id = ?', userId)).changes
        return { totp, passkeys }
      })
      return changed(userId, removed)
    },

    /** Stores a registered passkey. */
    async addPasskey(input: { id: PasskeyId; userId: UserId; credentialId: Uint8Array; publicKey: Uint8Array; name: string; signCount: number }): Promise<void> {
      const sealed = passkeyTable.seal(input.id, { credential_id: input.credentialId, public_key: input.publicKey, name: input.name }, await keys.ringFor(input.userId))
      await sql.run('INSERT INTO passkey (id, user_id, credential_index, credential_id, public_key, name, sign_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        input.id, input.userId, indexCredentialId(input.credentialId), sealed.credential_id!, sealed.public_key!, sealed.name!, input.signCount, now())
      changed(input.userId, undefined)
    },

    async listPasskeys(userId: UserId): Promise<Passkey[]> {
      return Promise.all((await sql.all<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM passkey WHERE user_id = ? ORDER BY created_at, id`, userId)).map(toPasskey))
    },

    /** The passkey with this credential id, whoever owns it; null when unknown. */
    async findPasskeyByCredentialId(credentialId: Uint8Array): Promise<Passkey | null> {
      const row = await sql.get<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM passkey WHERE credential_index = ?`, indexCredentialId(credentialId))
      return row === null ? null : toPasskey(row)
    },

    /** Records a use with its new counter, if the counter is still the one read; false when another use came first. */
    async recordPasskeyUse(passkey: Passkey, signCount: number): Promise<boolean> {
      const result = await sql.run('UPDATE passkey SET sign_count = ?, last_used_at = ? WHERE id = ? AND sign_count = ?', signCount, now(), passkey.id, passkey.signCount)
      return result.changes === 1
    },

    /** Deletes one of the user's passkeys; false when it is not theirs. */
    async deletePasskey(userId: UserId, id: PasskeyId): Promise<boolean> {
      const result = await sql.run('DELETE FROM passkey WHERE id = ? AND user_id = ?', id, userId)
      return changed(userId, result.changes === 1)
    },
  }
}

export type SecondFactorRepo = ReturnType<typeof createSecondFactorRepo>
