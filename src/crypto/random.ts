import { randomBytes } from 'node:crypto'

/** Returns a fresh 256-bit key from the operating system's CSPRNG. */
export function generateKey(): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

/** Returns n bytes from the operating system's CSPRNG. */
export function generateBytes(n: number): Uint8Array {
  return new Uint8Array(randomBytes(n))
}
