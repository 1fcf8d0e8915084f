/**
 * Passkeys under /api/v1/auths (see docs/second-factors.md); the browser's navigator.credentials
 * makes and uses them, these routes hand out challenges and check the answers (auth/passkeys.ts).
 *
 *   POST   /passkeys/register/options   creation options with a fresh challenge (session)
 *   POST   /passkeys                    { name, credential, mfa_code? }: stores a new passkey
 *   GET    /passkeys                    the user's passkeys: id, name, when made and last used
 *   DELETE /passkeys/:id                removes one (not the last factor MFA_REQUIRED needs)
 *   POST   /passkeys/confirm/options    request options for the user's own passkeys (session)
 *   POST   /passkeys/confirm            { credential }: confirms the session for one lasting change
 *                                       (an API key, a new password, another passkey; fresh-code.ts)
 *   POST   /signin/passkey/options      { mfa_token? }: request options, as a second factor for
 *                                       that sign-in, or passwordless (ENABLE_PASSKEY_LOGIN)
 *   POST   /signin/passkey              { mfa_token?, credential }: the session, as sign-in answers
 *
 * Byte fields travel as base64url. A refused passkey counts as a sign-in failure and is audited
 * with its reason (a cloned authenticator's stale counter among them).
 * The WebAuthn checks (and the ASN.1, CBOR and signature code under them) load at the first passkey
 * answered, so a start does not parse them.
 */
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding'
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { RelyingParty } from '../../auth/passkeys.ts'
import { isSecondFactorRequired } from '../../auth/second-factor.ts'
import { admitSigninAttempt, recordSigninFailure } from '../../auth/signin-throttle.ts'
import type { AddressList } from '../../config/network.ts'
import type { Passkey, PasskeyId } from '../../db/second-factors.ts'
import { resolveClientAddress } from '../client-address.ts'
import { requireFreshCode } from '../fresh-code.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { relyingPartyFor } from '../relying-party.ts'
import { answerWithSession } from '../session-answer.ts'
import { admitChallengeAttempt, challengeExpired } from './second-step-signin.ts'

const Bytes = (maxLength: number) => t.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$' })
const RegisterBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 100 }),
  credential: t.Object({ attestation_object: Bytes(16_384), client_data_json: Bytes(4096) }),
  mfa_code: t.Optional(t.String({ maxLength: 64 })),
})
const OptionsBody = t.Optional(t.Object({ mfa_token: t.Optional(t.String({ minLength: 1, maxLength: 4096 })) }))
const Assertion = t.Object({ id: Bytes(1400), authenticator_data: Bytes(4096), client_data_json: Bytes(4096), signature: Bytes(1400) })
const ConfirmBody = t.Object({ credential: Assertion })
const AssertionBody = t.Object({
  mfa_token: t.Optional(t.String({ minLength: 1, maxLength: 4096 })),
  credential: t.Object({ id: Bytes(1400), authenticator_data: Bytes(4096), client_data_json: Bytes(4096), signature: Bytes(1400) }),
})
const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
const TIMEOUT_MS = 120_000

const b64 = encodeBase64urlNoPadding
const loadPasskeyChecks = () => import('../../auth/passkeys.ts')
const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000))
const describePasskey = (passkey: Passkey) => ({ id: passkey.id, name: passkey.name, created_at: seconds(passkey.createdAt), last_used_at: seconds(passkey.lastUsedAt) })
const refused = () => new HttpError(400, 'passkey_refused', 'That passkey was not accepted. Try again, or use another way to sign in.')

/** Decodes the base64url fields the schema let through; throws 400 when one is not valid base64url. */
function decodeFields<K extends string>(fields: Record<K, string>): Record<K, Uint8Array> {
  const decoded = {} as Record<K, Uint8Array>
  try {
    for (const key of Object.keys(fields) as K[]) decoded[key] = decodeBase64urlIgnorePadding(fields[key])
  } catch {
    throw new HttpError(400, 'malformed_credential', 'The passkey answer is not valid base64url.')
  }
  return decoded
}

export const passkeyRoutes = (deps: AuthDeps, trustedProxies: AddressList, publicUrl: string | null) => {
  const factors = deps.store.secondFactors
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, trustedProxies).ip
  const rpOf = (request: Request): RelyingParty => {
    const rp = relyingPartyFor(request, publicUrl)
    if (rp === null) throw new HttpError(400, 'origin_required', 'Passkeys need the page\'s origin: use Enclave\'s page, or set WEBUI_URL.')
    return rp
  }
  const requestOptions = (challenge: Uint8Array, rp: RelyingParty, allow: Passkey[], userVerification: 'required' | 'preferred') => ({
    challenge: b64(challenge), rpId: rp.id, timeout: TIMEOUT_MS, userVerification,
    allowCredentials: allow.map((passkey) => ({ type: 'public-key', id: b64(passkey.credentialId) })),
  })

  return new Elysia({ prefix: '/api/v1/auths' })
    .use(requireAuth(deps, trustedProxies))
    .post('/passkeys/register/options', async ({ principal, request, set }) => {
      const rp = rpOf(request)
      const user = principal.user
      const challenge = deps.passkeyChallenges.issue('register', user.id)
      set.headers['cache-control'] = 'no-store'
      return {
        challenge: b64(challenge), rp: { id: rp.id, name: 'Enclave' },
        user: { id: b64(new TextEncoder().encode(user.id)), name: user.email, displayName: user.name },
        pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -257 }],
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
        excludeCredentials: (await factors.listPasskeys(user.id)).map((passkey) => ({ type: 'public-key', id: b64(passkey.credentialId) })),
        attestation: 'none', timeout: TIMEOUT_MS,
      }
    }, { auth: 'session' })

    .post('/passkeys', async ({ body, principal, request, server, set }) => {
      const { readChallenge, verifyRegistration } = await loadPasskeyChecks()
      const user = principal.user
      const ip = ipOf(request, server)
      await requireFreshCode(deps, principal, body.mfa_code, ip, set)
      const bytes = decodeFields({ attestationObject: body.credential.attestation_object, clientDataJSON: body.credential.client_data_json })
      const challenge = readChallenge(bytes.clientDataJSON, 'create')
      if (challenge === null || deps.passkeyChallenges.take(challenge, 'register') !== user.id) throw refused()
      const result = verifyRegistration(bytes, rpOf(request))
      if (!result.ok) {
        deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip, method: 'passkey', reason: `registration_${result.reason}` })
        throw refused()
      }
      if (await factors.findPasskeyByCredentialId(result.registration.credentialId) !== null) throw new HttpError(409, 'passkey_exists', 'This passkey is registered already.')
      const id = crypto.randomUUID() as PasskeyId
      await factors.addPasskey({ id, userId: user.id, ...result.registration, name: body.name.trim() || 'Passkey' })
      deps.audit.record({ event: 'second_factor_enrolled', actorId: user.id, ip, method: 'passkey', details: { passkey_id: id } })
      return describePasskey((await factors.listPasskeys(user.id)).find((passkey) => passkey.id === id)!)
    }, { auth: 'session', body: RegisterBody })

    .get('/passkeys', async ({ principal }) => (await factors.listPasskeys(principal.user.id)).map(describePasskey), { auth: 'any' })

    .delete('/passkeys/:id', async ({ params, principal, request, server }) => {
      const user = principal.user
      const owned = await factors.listPasskeys(user.id)
      if (!owned.some((passkey) => passkey.id === params.id)) throw new HttpError(404, 'passkey_not_found', 'Passkey not found.')
      if (await isSecondFactorRequired(deps, user) && owned.length === 1 && (await factors.findTotp(user.id))?.enabled !== true) {
        throw new HttpError(403, 'mfa_required_by_policy', 'This server requires a second factor for your account: set up another before removing this one.')
      }
      await factors.deletePasskey(user.id, params.id as PasskeyId)
      deps.audit.record({ event: 'second_factor_removed', actorId: user.id, ip: ipOf(request, server), method: 'passkey', details: { passkey_id: params.id } })
      return true
    }, { auth: 'session', params: IdParams })

    .post('/passkeys/confirm/options', async ({ principal, request, set }) => {
      const owned = await factors.listPasskeys(principal.user.id)
      if (owned.length === 0) throw new HttpError(409, 'no_passkeys', 'You have no passkey to confirm with.')
      set.headers['cache-control'] = 'no-store'
      return requestOptions(deps.passkeyChallenges.issue('confirm', principal.user.id), rpOf(request), owned, 'preferred')
    }, { auth: 'session' })

    .post('/passkeys/confirm', async ({ body, principal, request, server }) => {
      const { readChallenge, verifyAssertion } = await loadPasskeyChecks()
      const user = principal.user
      const ip = ipOf(request, server)
      const bytes = decodeFields({
        credentialId: body.credential.id, authenticatorData: body.credential.authenticator_data, clientDataJSON: body.credential.client_data_json, signature: body.credential.signature,
      })
      const refuse = (reason: string): never => {
        deps.audit.record({ event: 'second_factor_failed', actorId: user.id, ip, method: 'passkey', reason: `confirm_${reason}` })
        throw refused()
      }
      const challenge = readChallenge(bytes.clientDataJSON, 'get')
      if (challenge === null || deps.passkeyChallenges.take(challenge, 'confirm') !== user.id) return refuse('unknown_challenge')
      const passkey = await factors.findPasskeyByCredentialId(bytes.credentialId)
      if (passkey === null || passkey.userId !== user.id) return refuse('unknown_passkey')
      const result = verifyAssertion(bytes, passkey, rpOf(request), false)
      if (!result.ok) return refuse(result.reason)
      if (!await factors.recordPasskeyUse(passkey, result.signCount)) return refuse('cloned_authenticator')
      if (principal.via === 'session') deps.freshConfirmations.confirm(principal.sessionId)
      deps.audit.record({ event: 'second_factor_used', actorId: user.id, ip, method: 'passkey', details: { purpose: 'fresh_confirmation', passkey_id: passkey.id } })
      return { status: true }
    }, { auth: 'session', body: ConfirmBody })

    .post('/signin/passkey/options', async ({ body, request, set }) => {
      const rp = rpOf(request)
      set.headers['cache-control'] = 'no-store'
      if (body?.mfa_token !== undefined) {
        const challenge = deps.signinChallenges.find(body.mfa_token)
        if (challenge === null) throw challengeExpired()
        return requestOptions(deps.passkeyChallenges.issue('second_factor', challenge.id), rp, await factors.listPasskeys(challenge.userId), 'preferred')
      }
      if (!deps.auth.passkeyLogin) throw new HttpError(403, 'passkey_login_disabled', 'Signing in with a passkey alone is turned off on this server.')
      return requestOptions(deps.passkeyChallenges.issue('passwordless', ''), rp, [], 'required')
    }, { body: OptionsBody })

    .post('/signin/passkey', async ({ body, request, server, set }) => {
      const { readChallenge, verifyAssertion } = await loadPasskeyChecks()
      const client = resolveClientAddress(request, server, trustedProxies)
      const isSecondFactor = body.mfa_token !== undefined
      if (!isSecondFactor && !deps.auth.passkeyLogin) throw new HttpError(403, 'passkey_login_disabled', 'Signing in with a passkey alone is turned off on this server.')
      const bytes = decodeFields({
        credentialId: body.credential.id, authenticatorData: body.credential.authenticator_data, clientDataJSON: body.credential.client_data_json, signature: body.credential.signature,
      })
      const signin = isSecondFactor ? await admitChallengeAttempt(deps, body.mfa_token!, client.ip, set) : null
      const account = signin?.account ?? `passkey:${body.credential.id.slice(0, 200)}`
      if (signin === null) {
        const refusal = await admitSigninAttempt(deps, account, client.ip)
        if (refusal !== null) {
          set.headers['retry-after'] = String(refusal.retryAfterSeconds)
          throw new HttpError(429, 'rate_limited', `Too many sign-in attempts. Try again in ${refusal.retryAfterSeconds} seconds.`)
        }
      }
      const refuse = (reason: string, userId: string | null): never => {
        recordSigninFailure(deps, account, client.ip)
        if (signin !== null) deps.signinChallenges.recordWrongCode(signin)
        deps.audit.record({ event: isSecondFactor ? 'second_factor_failed' : 'signin_failed', actorId: userId, ip: client.ip, method: 'passkey', reason })
        throw refused()
      }
      const challenge = readChallenge(bytes.clientDataJSON, 'get')
      if (challenge === null) return refuse('malformed', signin?.userId ?? null)
      const subject = deps.passkeyChallenges.take(challenge, isSecondFactor ? 'second_factor' : 'passwordless')
      if (subject === null || (signin !== null && subject !== signin.id)) return refuse('unknown_challenge', signin?.userId ?? null)
      const passkey = await factors.findPasskeyByCredentialId(bytes.credentialId)
      if (passkey === null || (signin !== null && passkey.userId !== signin.userId)) return refuse('unknown_passkey', signin?.userId ?? null)
      const result = verifyAssertion(bytes, passkey, rpOf(request), !isSecondFactor)
      if (!result.ok) return refuse(result.reason, passkey.userId)
      if (!await factors.recordPasskeyUse(passkey, result.signCount)) return refuse('cloned_authenticator', passkey.userId)
      const user = await deps.store.users.findUserById(passkey.userId)
      if (user === null) return refuse('unknown_account', null)
      if (signin !== null && !deps.signinChallenges.redeem(signin)) throw challengeExpired()
      deps.audit.record({ event: 'second_factor_used', actorId: user.id, ip: client.ip, method: 'passkey', details: { passkey_id: passkey.id } })
      deps.audit.record({ event: 'signin_succeeded', actorId: user.id, ip: client.ip, method: signin?.method ?? 'passkey', details: { second_factor: 'passkey' } })
      return answerWithSession(deps, user, request, client, set)
    }, { body: AssertionBody })
}
