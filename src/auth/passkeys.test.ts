import { describe, expect, test } from 'bun:test'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { readChallenge, verifyAssertion, type RelyingParty } from './passkeys.ts'

// A hand-made authenticator: a P-256 key, authenticator data (rpIdHash | flags | counter), and
// client data JSON, signed as WebAuthn asks (ECDSA over authenticatorData || SHA-256(clientDataJSON)).
const rp: RelyingParty = { id: 'chat.example.com', origin: 'https://chat.example.com' }
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = publicKey.export({ format: 'jwk' })
const stored = new Uint8Array([1, 4, ...Buffer.from(jwk.x!, 'base64url'), ...Buffer.from(jwk.y!, 'base64url')])
const sha256 = (bytes: Uint8Array | string) => new Uint8Array(createHash('sha256').update(bytes).digest())

type Assertion = { rpId?: string; origin?: string; type?: string; flags?: number; counter?: number; crossOrigin?: boolean; challenge?: Uint8Array }

function assert(options: Assertion = {}) {
  const authenticatorData = new Uint8Array(37)
  authenticatorData.set(sha256(options.rpId ?? rp.id), 0)
  authenticatorData[32] = options.flags ?? 0b101 // user present, user verified
  new DataView(authenticatorData.buffer).setUint32(33, options.counter ?? 5)
  const clientDataJSON = new TextEncoder().encode(JSON.stringify({
    type: options.type ?? 'webauthn.get', challenge: Buffer.from(options.challenge ?? new Uint8Array(32).fill(7)).toString('base64url'),
    origin: options.origin ?? rp.origin, crossOrigin: options.crossOrigin ?? false,
  }))
  const signature = new Uint8Array(sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), privateKey))
  return { authenticatorData, clientDataJSON, signature }
}

describe('an assertion', () => {
  test('from the key, for this party and origin, with a counter past the stored one, passes', () => {
    expect(verifyAssertion(assert({ counter: 5 }), { publicKey: stored, signCount: 4 }, rp, true)).toEqual({ ok: true, signCount: 5 })
  })

  test.each([
    ['a stale counter (a clone)', { counter: 4 }, 4, 'cloned_authenticator'],
    ['the same counter again', { counter: 4 }, 4, 'cloned_authenticator'],
    ['a counter of 0 after one was seen', { counter: 0 }, 3, 'cloned_authenticator'],
    ['another origin', { origin: 'https://evil.example' }, 0, 'wrong_origin'],
    ['a cross-origin frame', { crossOrigin: true }, 0, 'wrong_origin'],
    ['another relying party', { rpId: 'evil.example' }, 0, 'wrong_relying_party'],
    ['a registration\'s client data', { type: 'webauthn.create' }, 0, 'wrong_type'],
    ['no user presence', { flags: 0b100 }, 0, 'not_present'],
    ['no user verification, where required', { flags: 0b001 }, 0, 'not_verified'],
  ] as const)('refused: %s', (_, options, signCount, reason) => {
    expect(verifyAssertion(assert(options), { publicKey: stored, signCount }, rp, true)).toEqual({ ok: false, reason })
  })

  test('both counters 0 (an authenticator that keeps none) pass; without verification only where not required', () => {
    expect(verifyAssertion(assert({ counter: 0 }), { publicKey: stored, signCount: 0 }, rp, true).ok).toBe(true)
    expect(verifyAssertion(assert({ flags: 0b001 }), { publicKey: stored, signCount: 0 }, rp, false).ok).toBe(true)
  })

  test('a changed byte anywhere breaks the signature', () => {
    const good = assert()
    for (const field of ['authenticatorData', 'clientDataJSON', 'signature'] as const) {
      const changed = new Uint8Array(good[field])
      const at = field === 'authenticatorData' ? 36 : 20
      changed[at] = changed[at]! ^ 1
      const copy = { ...good, [field]: changed }
      expect(verifyAssertion(copy, { publicKey: stored, signCount: 0 }, rp, true).ok).toBe(false)
    }
    const otherKey = new Uint8Array(stored)
    otherKey[10] = otherKey[10]! ^ 1
    expect(verifyAssertion(good, { publicKey: otherKey, signCount: 0 }, rp, true).ok).toBe(false)
    expect(verifyAssertion(good, { publicKey: new Uint8Array([9, ...stored.subarray(1)]), signCount: 0 }, rp, true).ok).toBe(false)
  })

  test('garbage is refused as malformed, never thrown', () => {
    const garbage = { authenticatorData: new Uint8Array(3), clientDataJSON: new TextEncoder().encode('{"type":'), signature: new Uint8Array(0) }
    expect(verifyAssertion(garbage, { publicKey: stored, signCount: 0 }, rp, true)).toEqual({ ok: false, reason: 'malformed' })
    expect(verifyAssertion({ ...assert(), authenticatorData: new Uint8Array(10) }, { publicKey: stored, signCount: 0 }, rp, true)).toEqual({ ok: false, reason: 'malformed' })
    expect(readChallenge(garbage.clientDataJSON, 'get')).toBeNull()
  })

  test('the challenge is read only from client data of the asked type', () => {
    const challenge = new Uint8Array(32).fill(9)
    expect(readChallenge(assert({ challenge }).clientDataJSON, 'get')).toEqual(challenge)
    expect(readChallenge(assert({ challenge }).clientDataJSON, 'create')).toBeNull()
  })
})
