/** Passkeys in the page: not offered yet. */
import type { SessionUser } from './types.ts'

/** A function that answers a sign-in challenge with a passkey, or null when the browser has none. */
export function usePasskeyForChallenge(_token: string): (() => Promise<SessionUser>) | null {
  return null
}
