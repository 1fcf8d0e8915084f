/**
 * The WebAuthn relying party of a request: WEBUI_URL's host name and origin when it is set, else
 * the page's own (its Origin header, which origin-check has already held to this server's name).
 * Passkeys are bound to the name: a passkey made at https://chat.example.com does not work at
 * http://localhost, so set WEBUI_URL before users register them.
 */
import type { RelyingParty } from '../auth/passkeys.ts'

/** The relying party for this request; null when it cannot be told (no WEBUI_URL and no Origin). */
export function relyingPartyFor(request: Request, publicUrl: string | null): RelyingParty | null {
  const source = publicUrl ?? request.headers.get('origin')
  if (source === null) return null
  try {
    const url = new URL(source)
    return url.protocol === 'https:' || url.protocol === 'http:' ? { id: url.hostname, origin: url.origin } : null
  } catch {
    return null
  }
}
