/** Enrols TOTP through the routes and types codes from a clock the test controls. */
import { expect } from 'bun:test'
import { decodeBase32IgnorePadding } from '@oslojs/encoding'
import { TOTP_STEP_MS, totpCodeForStep, totpStepAt } from '../../src/auth/totp.ts'
import type { RequestHandler } from './binary-app.ts'
import { req } from './test-app.ts'

export type TotpEnrolment = { secret: Uint8Array; recoveryCodes: string[] }

/** The code an authenticator app shows at `ms` (unix ms), `stepsBack` steps earlier. */
export const codeAt = (secret: Uint8Array, ms: number, stepsBack = 0) => totpCodeForStep(secret, totpStepAt(ms) - stepsBack)

/**
 * Waits, when the clock's current step ends within `marginMs`, until the next one begins: a code
 * from one step back, typed near a step's end, could reach the server two steps back (refused)
 * on a loaded machine.
 */
export async function awayFromStepEnd(marginMs = 10_000): Promise<void> {
  const left = TOTP_STEP_MS - (Date.now() % TOTP_STEP_MS)
  if (left < marginMs) await Bun.sleep(left + 50)
}

/** Sets up and confirms TOTP for the holder of `headers`, with the code at `ms`. */
export async function enrolTotp(app: RequestHandler, headers: Record<string, string>, ms: number): Promise<TotpEnrolment> {
  const setup = await app.handle(req('POST', '/api/v1/auths/mfa/totp/setup', undefined, headers))
  expect(setup.status).toBe(200)
  const { secret: text } = (await setup.json()) as { secret: string }
  const secret = decodeBase32IgnorePadding(text)
  const enable = await app.handle(req('POST', '/api/v1/auths/mfa/totp/enable', { code: codeAt(secret, ms) }, headers))
  expect(enable.status).toBe(200)
  const { recovery_codes } = (await enable.json()) as { recovery_codes: string[] }
  return { secret, recoveryCodes: recovery_codes }
}

/** Signs in with a password and expects the second-step answer; returns its token. */
export async function firstStep(app: RequestHandler, email: string, password: string): Promise<string> {
  const res = await app.handle(req('POST', '/api/v1/auths/signin', { email, password }))
  expect(res.status).toBe(401)
  expect(res.headers.get('set-cookie')).toBeNull()
  const body = (await res.json()) as { code: string; mfa_token: string; token?: unknown }
  expect(body.code).toBe('second_factor_required')
  expect(body.token).toBeUndefined()
  return body.mfa_token
}
