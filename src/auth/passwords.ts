/**
 * Passwords: argon2id through Bun.password, with no 72-byte truncation. bcrypt hashes (imported
 * from an Open WebUI database) still verify and are flagged for an upgrade to argon2id at the next
 * sign-in, up to MAX_BCRYPT_COST: a costlier stored hash never matches, so no hash can make a sign-in
 * attempt cost seconds of CPU. An unknown account costs the same hashing work as a wrong password, so
 * timing can't tell them apart.
 */
import type { AuthConfig } from '../config/load-config.ts'
import { bcryptCost, MAX_BCRYPT_COST } from '../crypto/bcrypt-cost.ts'

export const MIN_PASSWORD_LENGTH = 8
// note: bounded so a megabyte "password" can't make the server hash a megabyte.
export const MAX_PASSWORD_LENGTH = 1024

/** OWASP's argon2id recommendation (19 MiB, 2 passes); about 30-60 ms on a small server. */
const ARGON2 = { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2 } as const

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, ARGON2)
}

export type PasswordCheck = { matches: boolean; needsRehash: boolean }

/** Checks a password against a stored argon2id or bcrypt hash; never throws on a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<PasswordCheck> {
  if ((bcryptCost(hash) ?? 0) > MAX_BCRYPT_COST) {
    await spendPasswordWork(password)
    return { matches: false, needsRehash: false }
  }
  try {
    const matches = await Bun.password.verify(password, hash)
    return { matches, needsRehash: matches && !hash.startsWith('$argon2id$') }
  } catch {
    return { matches: false, needsRehash: false }
  }
}

let dummyHash: Promise<string> | null = null

/** Spends the same work as verifying a real password, for accounts that don't exist. */
export async function spendPasswordWork(password: string): Promise<void> {
  dummyHash ??= hashPassword(crypto.randomUUID())
  await Bun.password.verify(password, await dummyHash).catch(() => false)
}

export type PasswordProblem = { code: 'password_too_short' | 'password_too_long' | 'password_too_weak'; message: string }

/** Checks a new password against the minimum length and the configured pattern; null when fine. */
export function findPasswordProblem(password: string, policy: AuthConfig['passwordPattern']): PasswordProblem | null {
  if ([...password].length < MIN_PASSWORD_LENGTH) return { code: 'password_too_short', message: `Passwords need at least ${MIN_PASSWORD_LENGTH} characters.` }
  if (password.length > MAX_PASSWORD_LENGTH) return { code: 'password_too_long', message: `Passwords can have at most ${MAX_PASSWORD_LENGTH} characters.` }
  if (policy !== null && !policy.pattern.test(password)) {
    return { code: 'password_too_weak', message: policy.hint ?? 'The password does not meet the password rules.' }
  }
  return null
}
