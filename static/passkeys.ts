/**
 * Passkeys in the page: the browser's navigator.credentials makes and uses them; the server's
 * options and the authenticator's answers travel as base64url (routes/passkeys.ts).
 */
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from '@oslojs/encoding'
import { api } from './api.ts'
import type { SessionUser } from './types.ts'

type Descriptor = { type: 'public-key'; id: string }
type CreationOptions = {
  challenge: string; rp: { id: string; name: string }; user: { id: string; name: string; displayName: string }
  pubKeyCredParams: { type: 'public-key'; alg: number }[]; excludeCredentials: Descriptor[]
  authenticatorSelection: AuthenticatorSelectionCriteria; attestation: AttestationConveyancePreference; timeout: number
}
type RequestOptions = { challenge: string; rpId: string; timeout: number; userVerification: UserVerificationRequirement; allowCredentials: Descriptor[] }

const bytes = (text: string) => decodeBase64urlIgnorePadding(text) as Uint8Array<ArrayBuffer>
const text = (buffer: ArrayBuffer) => encodeBase64urlNoPadding(new Uint8Array(buffer))
const descriptors = (list: Descriptor[]) => list.map((item) => ({ type: item.type, id: bytes(item.id) }))

/** Whether this browser can use passkeys here (a secure context with WebAuthn). */
export const hasPasskeySupport = () => typeof window !== 'undefined' && window.isSecureContext && typeof window.PublicKeyCredential === 'function'

/** Registers a new passkey named `name`; `mfaCode` when the account has an authenticator app. */
export async function registerPasskey(name: string, mfaCode: string | null): Promise<void> {
  const options = await api<CreationOptions>('POST', '/api/v1/auths/passkeys/register/options')
  const credential = await navigator.credentials.create({
    publicKey: {
      ...options, challenge: bytes(options.challenge), user: { ...options.user, id: bytes(options.user.id) }, excludeCredentials: descriptors(options.excludeCredentials),
    },
  }) as PublicKeyCredential | null
  if (credential === null) throw new Error('No passkey was made.')
  const response = credential.response as AuthenticatorAttestationResponse
  await api('POST', '/api/v1/auths/passkeys', {
    name, credential: { attestation_object: text(response.attestationObject), client_data_json: text(response.clientDataJSON) }, ...(mfaCode === null ? {} : { mfa_code: mfaCode }),
  })
}

/** Signs in with a passkey: as the second step of `mfaToken`'s sign-in, or alone (passwordless) when null. */
export async function signInWithPasskey(mfaToken: string | null): Promise<SessionUser> {
  const withToken = mfaToken === null ? {} : { mfa_token: mfaToken }
  const options = await api<RequestOptions>('POST', '/api/v1/auths/signin/passkey/options', withToken)
  const credential = await navigator.credentials.get({
    publicKey: { ...options, challenge: bytes(options.challenge), allowCredentials: descriptors(options.allowCredentials) },
  }) as PublicKeyCredential | null
  if (credential === null) throw new Error('No passkey was used.')
  const response = credential.response as AuthenticatorAssertionResponse
  return api<SessionUser>('POST', '/api/v1/auths/signin/passkey', {
    ...withToken,
    credential: {
      id: text(credential.rawId), authenticator_data: text(response.authenticatorData), client_data_json: text(response.clientDataJSON), signature: text(response.signature),
    },
  })
}

/** A function that answers a sign-in challenge with a passkey, or null when the browser has none. */
export function usePasskeyForChallenge(token: string): (() => Promise<SessionUser>) | null {
  return hasPasskeySupport() ? () => signInWithPasskey(token) : null
}

/** Confirms this session with one of the user's passkeys, for the next lasting change (an API key, a password). */
export async function confirmWithPasskey(): Promise<void> {
  const options = await api<RequestOptions>('POST', '/api/v1/auths/passkeys/confirm/options')
  const credential = await navigator.credentials.get({
    publicKey: { ...options, challenge: bytes(options.challenge), allowCredentials: descriptors(options.allowCredentials) },
  }) as PublicKeyCredential | null
  if (credential === null) throw new Error('No passkey was used.')
  const response = credential.response as AuthenticatorAssertionResponse
  await api('POST', '/api/v1/auths/passkeys/confirm', {
    credential: {
      id: text(credential.rawId), authenticator_data: text(response.authenticatorData), client_data_json: text(response.clientDataJSON), signature: text(response.signature),
    },
  })
}
