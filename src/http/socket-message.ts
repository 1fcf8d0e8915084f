/**
 * A socket frame as the app's socket route (Elysia's `ws`) hands it on, for the sockets the fast
 * upgrade route opens (socket-upgrade.ts), so both kinds answer every frame alike: a text frame that
 * starts as JSON can (`"`, `/`, `[`, `{`) is parsed (left as text when it does not parse), a numeric
 * text is a number, `true`, `false` and `null` their values; binary frames pass as they are.
 * Threat: a frame treated differently on one path (test/ws/socket-upgrade-fast.test.ts compares them).
 */
import { isNumericString } from 'elysia/utils'

/** The frame as Elysia's socket route would hand it to its `message` hook. */
export function messageAsElysiaParses(message: unknown): unknown {
  if (typeof message !== 'string') return message
  const start = message.charCodeAt(0)
  if (start === 34 || start === 47 || start === 91 || start === 123) {
    try {
      return JSON.parse(message)
    } catch {
      return message
    }
  }
  if (isNumericString(message)) return +message
  return message === 'true' ? true : message === 'false' ? false : message === 'null' ? null : message
}
