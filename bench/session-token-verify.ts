/**
 * Session token verification: Enclave's pinned HS256 on node:crypto (src/auth/tokens.ts) against
 * jose's jwtVerify with the algorithm pinned to HS256, which @elysiajs/jwt calls for every request.
 * Both check the same token, signature and expiry; the rounds alternate, and the figures are the
 * medians of the rounds. Run alone: bun bench/session-token-verify.ts
 */
import { jwtVerify } from 'jose'
import { signSessionToken, verifySessionToken } from '../src/auth/tokens.ts'
import { median, nowMs } from './measure.ts'

const VERIFIES_PER_ROUND = 20_000
const ROUNDS = 7

/** Microseconds per verification for each, and how many times ours fits in one of jose's. */
export async function measureSessionTokenVerify(): Promise<{ oursUs: number; joseUs: number; ratio: number }> {
  const secret = crypto.randomUUID() + crypto.randomUUID()
  const key = new TextEncoder().encode(secret)
  const now = Date.now()
  const token = signSessionToken({ userId: crypto.randomUUID(), sessionId: crypto.randomUUID(), issuedAtMs: now, expiresAtMs: now + 3_600_000, keyFingerprint: 'abcd-ef01-2345-6789' }, secret)
  if (verifySessionToken(token, secret, now) === null) throw new Error('our check refused its own token')
  if ((await jwtVerify(token, key, { algorithms: ['HS256'] })).payload.jti === undefined) throw new Error('jose refused the token')

  const ours = () => {
    const start = nowMs()
    for (let i = 0; i < VERIFIES_PER_ROUND; i++) verifySessionToken(token, secret, now)
    return ((nowMs() - start) * 1000) / VERIFIES_PER_ROUND
  }
  const jose = async () => {
    const start = nowMs()
    for (let i = 0; i < VERIFIES_PER_ROUND; i++) await jwtVerify(token, key, { algorithms: ['HS256'] })
    return ((nowMs() - start) * 1000) / VERIFIES_PER_ROUND
  }
  ours()
  await jose()
  const oursRuns: number[] = []
  const joseRuns: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    oursRuns.push(ours())
    joseRuns.push(await jose())
  }
  const oursUs = median(oursRuns)
  const joseUs = median(joseRuns)
  return { oursUs, joseUs, ratio: joseUs / oursUs }
}

if (import.meta.main) {
  const { oursUs, joseUs, ratio } = await measureSessionTokenVerify()
  console.log(`session token verify: ours ${oursUs.toFixed(2)} µs, jose jwtVerify ${joseUs.toFixed(2)} µs (${ratio.toFixed(1)}x ours), Bun ${Bun.version}`)
}
