/**
 * The route-side checks of Open WebUI's user permissions (auth/permissions.ts decides them): a
 * permission a route needs (`chat.delete`, `chat.file_upload`, `chat.share`), and the
 * `sharing.public_*` permission a save needs to make a knowledge base, prompt or model public.
 * Format: a permission key is a dotted path (`chat.delete`); a grant is an AccessControl, where
 * `null` is public (auth/access-control.ts).
 * Threat: a user doing what an admin's defaults or groups took from them; every route that does
 * the thing asks here before it changes anything. Admins pass (permissions.ts `byRole`).
 */
import type { AccessControl } from '../auth/access-control.ts'
import type { PermissionHolder, Permissions } from '../auth/permissions.ts'
import { HttpError } from './http-error.ts'

type Asker = Pick<Permissions, 'has'>

// note: Open WebUI answers 401 ACCESS_PROHIBITED here (routers/chats.py delete_chat_by_id,
// share_chat_by_id); 403 says the same without reading as "sign in again" (Conduit's
// api_auth_interceptor.dart treats both as endpoint-level refusals).
/** The 403 of a permission the caller lacks. */
export const refused = () => new HttpError(403, 'permission_denied', 'You do not have permission to do this.')

/** Throws 403 permission_denied unless the holder has `key`. */
export async function requirePermission(permissions: Asker, holder: PermissionHolder, key: string): Promise<void> {
  if (!await permissions.has(holder, key)) throw refused()
}

/**
 * Throws 403 public_sharing_denied when `access` makes the resource public (null) and the holder
 * lacks `key` (a `sharing.public_*` permission); `undefined` (access unchanged) passes.
 */
export async function refusePublicUnlessPermitted(permissions: Asker, holder: PermissionHolder, key: string, access: AccessControl | undefined): Promise<void> {
  // note: Open WebUI drops the public grant and saves the rest (utils/access_control
  // filter_allowed_access_grants); its page never offers "Public" without the permission
  // (AccessControl.svelte), so a request that asks for it is refused whole rather than answered
  // 200 with part of it not applied.
  if (access !== null) return
  if (!await permissions.has(holder, key)) throw new HttpError(403, 'public_sharing_denied', 'You do not have permission to make this public.')
}
