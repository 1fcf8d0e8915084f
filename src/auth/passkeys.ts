/**
 * Passkeys (WebAuthn level 2), parsed and verified with @oslojs/webauthn and @oslojs/crypto:
 * registration yields the credential id, its public key and its signature counter; an assertion is
 * checked against a stored passkey.
 *
 *   stored public key = one byte of algorithm (1: ES256, SEC1 uncompressed P-256; 2: RS256, PKCS#1)
 *                       followed by the key
 *
 * Checked each time: the client data's type, its origin (the page's, or WEBUI_URL's), no
 * cross-origin frame, the relying party id's hash in the authenticator data, user presence, and
 * user verification where asked (passwordless). The challenge is the caller's: it takes the one in
 * the client data from its store (passkey-challenges.ts) before trusting anything else.
 * Threat: a cloned authenticator (its key copied out) signs with a counter that lags the original's,
 * so a counter that does not move past the stored one is refused, unless both are 0 (authenticators
 * that keep no counter, as synced passkeys do). Attestation is not checked ('none' is asked for).
 */
import { ECDSAPublicKey, decodePKIXECDSASignature, decodeSEC1PublicKey, p256, verifyECDSASignature } from '@oslojs/crypto/ecdsa'
import { RSAPublicKey, decodePKCS1RSAPublicKey, sha256ObjectIdentifier, verifyRSASSAPKCS1v15Signature } from '@oslojs/crypto/rsa'
import { sha256 } from '@oslojs/crypto/sha2'
import {
  ClientDataType, coseAlgorithmES256, coseAlgorithmRS256, coseEllipticCurveP256, createAssertionSignatureMessage,
  parseAttestationObject, parseAuthenticatorData, parseClientDataJSON, type ClientData,
} from '@oslojs/webauthn'

export type RelyingParty = { id: string; origin: string }

export type PasskeyRefusal = 'malformed' | 'wrong_type' | 'wrong_origin' | 'wrong_relying_party' | 'not_present' | 'not_verified' | 'unsupported_algorithm' | 'bad_signature' | 'cloned_authenticator'

export type Registration = { credentialId: Uint8Array; publicKey: Uint8Array; signCount: number }

const ES256 = 1
const RS256 = 2

/** The challenge in client data JSON of the given type; null when it does not parse or is of another type. */
export function readChallenge(clientDataJSON: Uint8Array, type: 'create' | 'get'): Uint8Array | null {
  const clientData = parseClient(clientDataJSON)
  if (clientData === null || clientData.type !== (type === 'create' ? ClientDataType.Create : ClientDataType.Get)) return null
  return clientData.challenge
}

/** Checks a registration (navigator.credentials.create's answer) for `rp`; user verification is always required. */
export function verifyRegistration(
  input: { attestationObject: Uint8Array; clientDataJSON: Uint8Array }, rp: RelyingParty,
): { ok: true; registration: Registration } | { ok: false; reason: PasskeyRefusal } {
  const clientProblem = checkClientData(input.clientDataJSON, ClientDataType.Create, rp)
  if (clientProblem !== null) return { ok: false, reason: clientProblem }
  let authenticatorData
  try {
    authenticatorData = parseAttestationObject(input.attestationObject).authenticatorData
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  if (!authenticatorData.verifyRelyingPartyIdHash(rp.id)) return { ok: false, reason: 'wrong_relying_party' }
  if (!authenticatorData.userPresent) return { ok: false, reason: 'not_present' }
  if (!authenticatorData.userVerified) return { ok: false, reason: 'not_verified' }
  const credential = authenticatorData.credential
  if (credential === null) return { ok: false, reason: 'malformed' }
  const publicKey = encodePublicKey(credential.publicKey)
  if (publicKey === null) return { ok: false, reason: 'unsupported_algorithm' }
  return { ok: true, registration: { credentialId: credential.id, publicKey, signCount: authenticatorData.signatureCounter } }
}

/** Checks an assertion (navigator.credentials.get's answer) by a stored passkey; returns its new counter. */
export function verifyAssertion(
  input: { authenticatorData: Uint8Array; clientDataJSON: Uint8Array; signature: Uint8Array },
  passkey: { publicKey: Uint8Array; signCount: number }, rp: RelyingParty, requireUserVerification: boolean,
): { ok: true; signCount: number } | { ok: false; reason: PasskeyRefusal } {
  const clientProblem = checkClientData(input.clientDataJSON, ClientDataType.Get, rp)
  if (clientProblem !== null) return { ok: false, reason: clientProblem }
  let authenticatorData
  try {
    authenticatorData = parseAuthenticatorData(input.authenticatorData)
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  if (!authenticatorData.verifyRelyingPartyIdHash(rp.id)) return { ok: false, reason: 'wrong_relying_party' }
  if (!authenticatorData.userPresent) return { ok: false, reason: 'not_present' }
  if (requireUserVerification && !authenticatorData.userVerified) return { ok: false, reason: 'not_verified' }
  const hash = sha256(createAssertionSignatureMessage(input.authenticatorData, input.clientDataJSON))
  if (!verifySignature(passkey.publicKey, hash, input.signature)) return { ok: false, reason: 'bad_signature' }
  const counter = authenticatorData.signatureCounter
  if ((counter !== 0 || passkey.signCount !== 0) && counter <= passkey.signCount) return { ok: false, reason: 'cloned_authenticator' }
  return { ok: true, signCount: counter }
}

function parseClient(bytes: Uint8Array): ClientData | null {
  try {
    return parseClientDataJSON(bytes)
  } catch {
    return null
  }
}

function checkClientData(bytes: Uint8Array, type: ClientDataType, rp: RelyingParty): PasskeyRefusal | null {
  const clientData = parseClient(bytes)
  if (clientData === null) return 'malformed'
  if (clientData.type !== type) return 'wrong_type'
  if (clientData.origin !== rp.origin || clientData.crossOrigin === true) return 'wrong_origin'
  return null
}

type CosePublicKey = NonNullable<ReturnType<typeof parseAuthenticatorData>['credential']>['publicKey']

function encodePublicKey(key: CosePublicKey): Uint8Array | null {
  try {
    const algorithm = key.algorithm()
    if (algorithm === coseAlgorithmES256) {
      const ec2 = key.ec2()
      if (ec2.curve !== coseEllipticCurveP256) return null
      return withPrefix(ES256, new ECDSAPublicKey(p256, ec2.x, ec2.y).encodeSEC1Uncompressed())
    }
    if (algorithm === coseAlgorithmRS256) {
      const rsa = key.rsa()
      return withPrefix(RS256, new RSAPublicKey(rsa.n, rsa.e).encodePKCS1())
    }
  } catch {
    return null
  }
  return null
}

function verifySignature(stored: Uint8Array, hash: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = stored.subarray(1)
    if (stored[0] === ES256) return verifyECDSASignature(decodeSEC1PublicKey(p256, key), hash, decodePKIXECDSASignature(signature))
    if (stored[0] === RS256) return verifyRSASSAPKCS1v15Signature(decodePKCS1RSAPublicKey(key), sha256ObjectIdentifier, hash, signature)
  } catch {
    return false
  }
  return false
}

function withPrefix(prefix: number, key: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(key.length + 1)
  bytes[0] = prefix
  bytes.set(key, 1)
  return bytes
}
