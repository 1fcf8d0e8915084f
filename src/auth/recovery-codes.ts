/**
 * Recovery codes: ten at enrolment, each 80 random bits written as 16 base32 characters in four
 * groups (`k3v9-x2mq-7hpa-c4ze`). 80 bits make the stored SHA-256 (second-factors.ts) useless to
 * whoever copies the database: there is nothing to guess through. Typed input is forgiven its case,
 * spaces and dashes.
 */
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'

export const RECOVERY_CODE_COUNT = 10

/** Ten new recovery codes, to show once. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => formatCode(encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(10)))))
}

/** The stored form of a typed code, or null when it cannot be one. */
export function normaliseRecoveryCode(input: string): string | null {
  const compact = input.toLowerCase().replace(/[\s-]/g, '')
  return /^[a-z2-7]{16}$/.test(compact) ? formatCode(compact) : null
}

const formatCode = (compact: string) => compact.match(/.{4}/g)!.join('-')
