/**
 * The answer to a credential that authenticate() did not admit, one for every way in: the HTTP
 * routes (plugins/require-auth.ts) and the chat socket's upgrade (routes/socket-admission.ts, on
 * either path), so a client gets the same status and code for the same credential wherever it
 * offers it. 401 says "who are you" (no credential, or one that admits no one: unknown, expired,
 * revoked, forged), and a client signs in again; 403 says "you may not" (a valid API key not allowed
 * here, or a user held to enrolling a second factor first), and signing in again would not help.
 * Format: HttpError's JSON body, `{ detail, code }`.
 * Threat: an answer that tells an unknown credential from a known one beyond what HTTP already tells.
 */
import type { AuthFailure } from '../auth/authenticate.ts'
import { HttpError } from './http-error.ts'

/** The refusal for an authentication failure. */
export function authRefusal(reason: AuthFailure): HttpError {
  if (reason === 'api_key_not_allowed' || reason === 'api_key_endpoint_denied') return new HttpError(403, reason, 'This API key may not be used here.')
  if (reason === 'second_factor_enrolment_required') {
    return new HttpError(403, 'mfa_enrolment_required', 'Set up a second factor (an authenticator app or a passkey) in Settings before anything else.')
  }
  return new HttpError(401, 'not_authenticated', 'Not authenticated.')
}
