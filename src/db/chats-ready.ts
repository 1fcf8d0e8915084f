/**
 * Readies a chat's start before any user asks (a start readies a turn with it before the app is built, prepare-app.ts and http/app-build.ts):
 * prepares on the store the statements a started chat's one transaction runs (the chat's row, an id
 * block's reservation, the question's row, the message it selects), and runs the sealing of a
 * chat's title, settings and a question, with its digest, once on a throwaway key. A client that
 * asks as its socket opens, before the turn warm-up (chat/turn-warm-up.ts), otherwise met all of it
 * cold in storing its question.
 * Threat: none added. Nothing is read from or written to the store (preparing a statement runs
 * nothing); the throwaway key is random, no owner's, and dropped with what it sealed.
 */
import { generateKey } from '../crypto/random.ts'
import type { VersionedKey } from '../crypto/field-cipher.ts'
import type { ChatsCore } from './chats-core.ts'
import type { KeyRing } from './data-keys.ts'

/** The repository's method that readies a chat's start. */
export function createChatReadiness({ chats, rows, messageIds }: ChatsCore) {
  return {
    /** Prepares a chat start's statements and seals a sample chat and question on a throwaway key; writes nothing. */
    readyChatStart(): void {
      const key: VersionedKey = { version: 1, key: generateKey() }
      const ring: KeyRing = { current: key, byVersion: (version) => (version === key.version ? key : null) }
      chats.ready(ring)
      messageIds.ready()
      rows.ready(ring)
    },
  }
}
