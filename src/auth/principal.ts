import type { ApiKeyId } from '../db/api-keys.ts'
import type { SessionId } from '../db/sessions.ts'
import type { User } from '../db/users.ts'

/** Who made a request, and with what credential. Built only by authenticate(). */
export type Principal =
  | { user: User; via: 'session'; sessionId: SessionId; token: string }
  | { user: User; via: 'api_key'; apiKeyId: ApiKeyId; token: string }

/** What a signed-in client sees of its account (Open WebUI's session object, minus the token). */
export function describeSessionUser(user: User, mayUseApiKeys: boolean, profileImageUrl = '/user.png') {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    profile_image_url: profileImageUrl,
    permissions: { features: { api_keys: mayUseApiKeys } },
  }
}
