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
import type { Database } from 'bun:sqlite'
import { createHash } from 'node:crypto'
import type { DataKeyRepo } from './data-keys.ts'
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
type PasskeyRow = {
  id: string; user_id: string; credential_id: Uint8Array; public_key: Uint8Array; name: Uint8Array
  sign_count: number; created_at: number; last_used_at: number | null
}

/** The stored form of a recovery code: bound to its user, so one user's codes never match another's. */
export const hashRecoveryCode = (userId: UserId, code: string) => new Uint8Array(createHash('sha256').update(`${userId}\n${code}`).digest())

/** The lookup form of a credential id (not secret, but sealed like the rest; this finds it). */
export const indexCredentialId = (credentialId: Uint8Array) => new Uint8Array(createHash('sha256').update(credentialId).digest())

export function createSecondFactorRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const upsertTotp = db.query<void, [string, Uint8Array, number]>(`
    INSERT INTO totp_factor (user_id, secret, enabled_at, last_used_step, created_at) VALUES (?, ?, NULL, NULL, ?)
    ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, enabled_at = NULL, last_used_step = NULL, created_at = excluded.created_at`)
  const selectTotp = db.query<TotpRow, [string]>('SELECT secret, enabled_at, last_used_step FROM totp_factor WHERE user_id = ?')
  const useStep = db.query<void, [number, string, number]>(
    'UPDATE totp_factor SET last_used_step = ? WHERE user_id = ? AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < ?)')
  const enable = db.query<void, [number, number, string]>('UPDATE totp_factor SET enabled_at = ?, last_used_step = ? WHERE user_id = ? AND enabled_at IS NULL')
  const deleteTotpOf = db.query<void, [string]>('DELETE FROM totp_factor WHERE user_id = ?')
  const deleteCodesOf = db.query<void, [string]>('DELETE FROM recovery_code WHERE user_id = ?')
  const insertCode = db.query<void, [string, Uint8Array, number]>('INSERT INTO recovery_code (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)')
  const useCode = db.query<void, [number, string, Uint8Array]>('UPDATE recovery_code SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL')
  const countCodes = db.query<{ n: number }, [string]>('SELECT count(*) AS n FROM recovery_code WHERE user_id = ? AND used_at IS NULL')
  const insertPasskey = db.query<void, [string, string, Uint8Array, Uint8Array, Uint8Array, Uint8Array, number, number]>(
    'INSERT INTO passkey (id, user_id, credential_index, credential_id, public_key, name, sign_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
  const selectPasskeys = db.query<PasskeyRow, [string]>('SELECT * FROM passkey WHERE user_id = ? ORDER BY created_at, id')
  const selectPasskeyByIndex = db.query<PasskeyRow, [Uint8Array]>('SELECT * FROM passkey WHERE credential_index = ?')
  const updateCount = db.query<void, [number, number, string, number]>('UPDATE passkey SET sign_count = ?, last_used_at = ? WHERE id = ? AND sign_count = ?')
  const deletePasskeyOf = db.query<void, [string, string]>('DELETE FROM passkey WHERE id = ? AND user_id = ?')
  const deletePasskeysOf = db.query<void, [string]>('DELETE FROM passkey WHERE user_id = ?')
  const selectSummaries = db.query<{ user_id: string; totp: number; passkeys: number; codes: number }, []>(`
    SELECT u.id AS user_id,
      CASE WHEN EXISTS (SELECT 1 FROM totp_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL) THEN 1 ELSE 0 END AS totp,
      (SELECT count(*) FROM passkey p WHERE p.user_id = u.id) AS passkeys,
      (SELECT count(*) FROM recovery_code r WHERE r.user_id = u.id AND r.used_at IS NULL) AS codes
    FROM user u`)
  const selectHasFactor = db.query<{ has: number }, [string, string]>(`
    SELECT CASE WHEN EXISTS (SELECT 1 FROM totp_factor WHERE user_id = ? AND enabled_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM passkey WHERE user_id = ?) THEN 1 ELSE 0 END AS has`)

  const toPasskey = (row: PasskeyRow): Passkey => {
    const plain = passkeyTable.open(row.id, row, keys.keysForOwner(row.user_id))
    return {
      id: row.id as PasskeyId, userId: row.user_id as UserId, credentialId: plain.credential_id!, publicKey: plain.public_key!, name: plain.name!,
      signCount: row.sign_count, createdAt: row.created_at, lastUsedAt: row.last_used_at,
    }
  }

  return {
    /** Stores a new, not yet enabled TOTP secret for the user, replacing any pending or enabled one. */
    setPendingTotp(userId: UserId, secret: Uint8Array): void {
      upsertTotp.run(userId, totpTable.sealColumn('secret', userId, secret, keys.keysForOwner(userId))!, now())
    },

    /** The user's TOTP factor, enabled or pending; null when they have none. */
    findTotp(userId: UserId): TotpFactor | null {
      const row = selectTotp.get(userId)
      if (row === null) return null
      const secret = totpTable.openColumn('secret', userId, row.secret, keys.keysForOwner(userId))!
      return { secret, enabled: row.enabled_at !== null, lastUsedStep: row.last_used_step }
    },

    /** Switches the pending TOTP factor on, `step` being the one its first code used; false when there is none pending. */
    enableTotp(userId: UserId, step: number): boolean {
      return enable.run(now(), step, userId).changes === 1
    },

    /** Marks `step` used if it is newer than the last accepted one; false when it is not (a replay). */
    useTotpStep(userId: UserId, step: number): boolean {
      return useStep.run(step, userId, step).changes === 1
    },

    /** Removes the user's TOTP factor and recovery codes. */
    deleteTotp(userId: UserId): void {
      db.transaction(() => {
        deleteTotpOf.run(userId)
        deleteCodesOf.run(userId)
      }).immediate()
    },

    /** Replaces the user's recovery codes with these (plain codes in, hashes stored). */
    replaceRecoveryCodes(userId: UserId, codes: readonly string[]): void {
      const at = now()
      db.transaction(() => {
        deleteCodesOf.run(userId)
        for (const code of codes) insertCode.run(userId, hashRecoveryCode(userId, code), at)
      }).immediate()
    },

    /** Uses one recovery code; false when it is not one of the user's or was used already. */
    useRecoveryCode(userId: UserId, code: string): boolean {
      return useCode.run(now(), userId, hashRecoveryCode(userId, code)).changes === 1
    },

    countRecoveryCodesLeft(userId: UserId): number {
      return countCodes.get(userId)?.n ?? 0
    },

    /** Whether the user has an enabled TOTP factor or a passkey. */
    hasSecondFactor(userId: UserId): boolean {
      return selectHasFactor.get(userId, userId)?.has === 1
    },

    /** Every user's factors, by user id. */
    summariseFactors(): Map<UserId, FactorSummary> {
      return new Map(selectSummaries.all().map((row) => [row.user_id as UserId, { totp: row.totp === 1, passkeys: row.passkeys, recoveryCodesLeft: row.codes }]))
    },

    /** Removes every second factor of the user; says what there was. */
    resetSecondFactors(userId: UserId): { totp: boolean; passkeys: number } {
      return db.transaction(() => {
        const totp = deleteTotpOf.run(userId).changes > 0
        deleteCodesOf.run(userId)
        const passkeys = deletePasskeysOf.run(userId).changes
        return { totp, passkeys }
      }).immediate()
    },

    /** Stores a registered passkey. */
    addPasskey(input: { id: PasskeyId; userId: UserId; credentialId: Uint8Array; publicKey: Uint8Array; name: string; signCount: number }): void {
      const sealed = passkeyTable.seal(input.id, { credential_id: input.credentialId, public_key: input.publicKey, name: input.name }, keys.keysForOwner(input.userId))
      insertPasskey.run(input.id, input.userId, indexCredentialId(input.credentialId), sealed.credential_id!, sealed.public_key!, sealed.name!, input.signCount, now())
    },

    listPasskeys(userId: UserId): Passkey[] {
      return selectPasskeys.all(userId).map(toPasskey)
    },

    /** The passkey with this credential id, whoever owns it; null when unknown. */
    findPasskeyByCredentialId(credentialId: Uint8Array): Passkey | null {
      const row = selectPasskeyByIndex.get(indexCredentialId(credentialId))
      return row === null ? null : toPasskey(row)
    },

    /** Records a use with its new counter, if the counter is still the one read; false when another use came first. */
    recordPasskeyUse(passkey: Passkey, signCount: number): boolean {
      return updateCount.run(signCount, now(), passkey.id, passkey.signCount).changes === 1
    },

    /** Deletes one of the user's passkeys; false when it is not theirs. */
    deletePasskey(userId: UserId, id: PasskeyId): boolean {
      return deletePasskeyOf.run(id, userId).changes === 1
    },
  }
}

export type SecondFactorRepo = ReturnType<typeof createSecondFactorRepo>
