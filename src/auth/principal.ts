import type { ApiKeyId } from '../db/api-keys.ts'
import type { PermissionTree } from '../db/groups.ts'
import type { SessionId } from '../db/sessions.ts'
import type { User } from '../db/users.ts'

/** Who made a request, and with what credential. Built only by authenticate(). */
export type Principal =
  | { user: User; via: 'session'; sessionId: SessionId; token: string }
  | { user: User; via: 'api_key'; apiKeyId: ApiKeyId; token: string; allowedModels: readonly string[] | null }

/**
 * What a signed-in client sees of its account (Open WebUI's session object, minus the token).
 * `permissions` is the user's effective tree (auth/permissions.ts), as Open WebUI's page reads it.
 */
export function describeSessionUser(user: User, permissions: PermissionTree, profileImageUrl = '/user.png') {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    profile_image_url: profileImageUrl,
    permissions,
  }
}
