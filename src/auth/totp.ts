/**
 * TOTP (RFC 6238) as every authenticator app reads it: HMAC-SHA-1, 30-second steps, 6 digits, a
 * 160-bit secret (RFC 4226's recommended length). The arithmetic is @oslojs/otp's HOTP; the step
 * comes from our clock, so tests move time instead of waiting for it.
 * Accepted: the code of the current step or of the previous one (a code typed as the step turns).
 * Which steps were already used is the caller's business (second-factor.ts, through the store).
 */
import { createTOTPKeyURI, generateHOTP, verifyHOTP } from '@oslojs/otp'

export const TOTP_STEP_MS = 30_000
const TOTP_DIGITS = 6
const SECRET_BYTES = 20

/** A new random TOTP secret. */
export const newTotpSecret = (): Uint8Array => crypto.getRandomValues(new Uint8Array(SECRET_BYTES))

/** The time step of a unix time in ms. */
export const totpStepAt = (ms: number): number => Math.floor(ms / TOTP_STEP_MS)

/** The code of one step (tests and the bench type codes with it). */
export const totpCodeForStep = (secret: Uint8Array, step: number): string => generateHOTP(secret, BigInt(step), TOTP_DIGITS)

/** The step whose code `code` is, the current one first, then the previous; null when it is neither. */
export function findTotpStep(secret: Uint8Array, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const current = totpStepAt(nowMs)
  for (const step of [current, current - 1]) {
    if (verifyHOTP(secret, BigInt(step), TOTP_DIGITS, code)) return step
  }
  return null
}

/** The otpauth:// URI an authenticator app scans. */
export const totpKeyUri = (issuer: string, accountName: string, secret: Uint8Array): string =>
  createTOTPKeyURI(issuer, accountName, secret, TOTP_STEP_MS / 1000, TOTP_DIGITS)
