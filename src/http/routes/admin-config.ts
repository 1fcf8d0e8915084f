/**
 * Open WebUI's admin settings: GET/POST /api/v1/auths/admin/config (sign-up, default role, API
 * keys, session lifetime, ...), GET /api/v1/auths/admin/details (whom a pending user should ask),
 * GET/POST /api/v1/users/default/permissions and GET /api/v1/users/permissions (the caller's).
 * Changes take effect at once, are stored sealed and audited (names and flags only, no text).
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { permissionsOf } from '../../auth/authenticate.ts'
import { reopenSignupClosedByAdminBootstrap } from '../../auth/bootstrap-admin.ts'
import type { AdminConfig, Permissions } from '../../auth/runtime-auth.ts'
import { durationOrNever, pathList } from '../../config/parsers.ts'
import type { AddressList } from '../../config/network.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const Text = (maxLength: number) => t.Optional(t.Nullable(t.String({ maxLength })))
const Flag = t.Optional(t.Boolean())
const AdminConfigBody = t.Object({
  SHOW_ADMIN_DETAILS: Flag, WEBUI_URL: Text(2048), ENABLE_SIGNUP: Flag,
  // note: Open WebUI renamed ENABLE_API_KEY to ENABLE_API_KEYS (0.6.x); both spellings are read.
  ENABLE_API_KEY: Flag, ENABLE_API_KEYS: Flag, ENABLE_API_KEY_ENDPOINT_RESTRICTIONS: Flag, ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: Flag,
  API_KEY_ALLOWED_ENDPOINTS: Text(4096), API_KEYS_ALLOWED_ENDPOINTS: Text(4096),
  DEFAULT_USER_ROLE: t.Optional(t.Union([t.Literal('pending'), t.Literal('user'), t.Literal('admin')])),
  JWT_EXPIRES_IN: t.Optional(t.String({ maxLength: 40 })),
  ENABLE_COMMUNITY_SHARING: Flag, ENABLE_MESSAGE_RATING: Flag, ENABLE_CHANNELS: Flag, ENABLE_NOTES: Flag, ENABLE_FOLDERS: Flag, ENABLE_USER_WEBHOOKS: Flag,
  PENDING_USER_OVERLAY_TITLE: Text(500), PENDING_USER_OVERLAY_CONTENT: Text(10_000), RESPONSE_WATERMARK: Text(2000),
})
const PermissionsBody = t.Record(t.String({ maxLength: 40 }), t.Record(t.String({ maxLength: 60 }), t.Boolean(), { maxProperties: 100 }), { maxProperties: 20 })

/** The admin config in Open WebUI's spelling, old and new names both present. */
const describeAdminConfig = (config: AdminConfig) => ({
  ...config,
  ENABLE_API_KEY: config.ENABLE_API_KEYS,
  ENABLE_API_KEY_ENDPOINT_RESTRICTIONS: config.ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS,
  API_KEY_ALLOWED_ENDPOINTS: config.API_KEYS_ALLOWED_ENDPOINTS,
})

/**
 * Fields Enclave cannot apply, refused (400) unless posted as they read: channels, notes and user
 * webhooks do not exist here; WEBUI_URL is the environment's (callback URLs and the allowed hosts
 * are built from it at start; Open WebUI's newer admin page shows it disabled, "Controlled by the
 * WEBUI_URL environment variable"). Open WebUI's page posts the whole object back, these as it read them.
 */
function unappliable(current: AdminConfig, body: typeof AdminConfigBody.static): string | null {
  for (const key of ['ENABLE_CHANNELS', 'ENABLE_NOTES', 'ENABLE_USER_WEBHOOKS'] as const) if (body[key] === true) return `${key}: Enclave has no such feature, so it stays off.`
  if (body.WEBUI_URL !== undefined && body.WEBUI_URL !== null && body.WEBUI_URL !== current.WEBUI_URL) return 'WEBUI_URL is set by the environment variable of that name.'
  return null
}

/** Merges a posted admin config over the current one, or names the invalid field. */
function mergeAdminConfig(current: AdminConfig, body: typeof AdminConfigBody.static): AdminConfig | { invalid: string } {
  const pick = <K extends keyof AdminConfig>(key: K, value: AdminConfig[K] | undefined): AdminConfig[K] => (value === undefined ? current[key] : value)
  // note: a page that read both spellings posts both back and edits one: the one that changed wins.
  const either = <K extends keyof AdminConfig, V>(key: K, newName: V | undefined, oldName: V | undefined): V | undefined =>
    newName !== undefined && newName !== current[key] ? newName : oldName !== undefined && oldName !== current[key] ? oldName : newName ?? oldName
  const endpoints = either('API_KEYS_ALLOWED_ENDPOINTS', body.API_KEYS_ALLOWED_ENDPOINTS, body.API_KEY_ALLOWED_ENDPOINTS)
  if (endpoints !== undefined && endpoints !== null && endpoints.trim() !== '' && !Array.isArray(pathList(endpoints))) return { invalid: 'API_KEYS_ALLOWED_ENDPOINTS' }
  if (body.JWT_EXPIRES_IN !== undefined) {
    const ttl = durationOrNever(body.JWT_EXPIRES_IN)
    if (ttl !== null && typeof ttl === 'object') return { invalid: 'JWT_EXPIRES_IN' }
  }
  return {
    SHOW_ADMIN_DETAILS: pick('SHOW_ADMIN_DETAILS', body.SHOW_ADMIN_DETAILS),
    WEBUI_URL: pick('WEBUI_URL', body.WEBUI_URL ?? undefined),
    ENABLE_SIGNUP: pick('ENABLE_SIGNUP', body.ENABLE_SIGNUP),
    ENABLE_API_KEYS: pick('ENABLE_API_KEYS', either('ENABLE_API_KEYS', body.ENABLE_API_KEYS, body.ENABLE_API_KEY)),
    ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: pick('ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS',
      either('ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS', body.ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS, body.ENABLE_API_KEY_ENDPOINT_RESTRICTIONS)),
    API_KEYS_ALLOWED_ENDPOINTS: pick('API_KEYS_ALLOWED_ENDPOINTS', endpoints ?? undefined),
    DEFAULT_USER_ROLE: pick('DEFAULT_USER_ROLE', body.DEFAULT_USER_ROLE),
    JWT_EXPIRES_IN: pick('JWT_EXPIRES_IN', body.JWT_EXPIRES_IN?.trim()),
    ENABLE_COMMUNITY_SHARING: pick('ENABLE_COMMUNITY_SHARING', body.ENABLE_COMMUNITY_SHARING),
    ENABLE_MESSAGE_RATING: pick('ENABLE_MESSAGE_RATING', body.ENABLE_MESSAGE_RATING),
    ENABLE_CHANNELS: pick('ENABLE_CHANNELS', body.ENABLE_CHANNELS),
    ENABLE_NOTES: pick('ENABLE_NOTES', body.ENABLE_NOTES),
    ENABLE_FOLDERS: pick('ENABLE_FOLDERS', body.ENABLE_FOLDERS),
    ENABLE_USER_WEBHOOKS: pick('ENABLE_USER_WEBHOOKS', body.ENABLE_USER_WEBHOOKS),
    PENDING_USER_OVERLAY_TITLE: pick('PENDING_USER_OVERLAY_TITLE', body.PENDING_USER_OVERLAY_TITLE),
    PENDING_USER_OVERLAY_CONTENT: pick('PENDING_USER_OVERLAY_CONTENT', body.PENDING_USER_OVERLAY_CONTENT),
    RESPONSE_WATERMARK: pick('RESPONSE_WATERMARK', body.RESPONSE_WATERMARK),
  }
}

/** What changed, for the audit log: a flag's or role's new value, or `changed` for text (never the text). */
function describeChanges(before: AdminConfig, after: AdminConfig): Record<string, string | boolean> {
  const changes: Record<string, string | boolean> = {}
  for (const key of Object.keys(after) as (keyof AdminConfig)[]) {
    if (before[key] === after[key]) continue
    const value = after[key]
    changes[key] = typeof value === 'boolean' || key === 'DEFAULT_USER_ROLE' || key === 'JWT_EXPIRES_IN' ? value as string | boolean : 'changed'
  }
  return changes
}

export const adminConfigRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, trustedProxies).ip
  return new Elysia()
    .use(requireAuth(deps, trustedProxies))
    .get('/api/v1/auths/admin/config', async () => describeAdminConfig(await deps.runtime.readAdminConfig()), { auth: 'admin' })

    .post('/api/v1/auths/admin/config', async ({ body, principal, request, server }) => {
      const before = await deps.runtime.readAdminConfig()
      const refused = unappliable(before, body)
      if (refused !== null) throw new HttpError(400, 'unsupported_setting', refused)
      const merged = mergeAdminConfig(before, body)
      if ('invalid' in merged) throw new HttpError(400, 'invalid_admin_config', `${merged.invalid} has an invalid value.`)
      const changes = describeChanges(before, merged)
      await deps.runtime.saveAdminConfig(merged)
      // note: API keys turned off or restricted must stop sockets and answers already running on one.
      deps.store.accountChanges.accessChanged(null)
      // note: an admin made from WEBUI_ADMIN_EMAIL closed sign-up for good; opening it here lifts that.
      if (merged.ENABLE_SIGNUP) await reopenSignupClosedByAdminBootstrap(deps)
      if (Object.keys(changes).length > 0) deps.audit.record({ event: 'admin_config_changed', actorId: principal.user.id, ip: ipOf(request, server), details: changes })
      return describeAdminConfig(merged)
    }, { auth: 'admin', body: AdminConfigBody })

    // note: any signed-in account, pending ones too: the pending page names whom to ask (as Open WebUI).
    .get('/api/v1/auths/admin/details', async () => {
      if (!(await deps.runtime.readAdminConfig()).SHOW_ADMIN_DETAILS) throw new HttpError(400, 'action_prohibited', 'The administrator has chosen not to show their details.')
      const admin = await deps.store.users.findFirstAdmin()
      return { name: admin?.name ?? null, email: admin?.email ?? null }
    }, { auth: 'any' })

    .get('/api/v1/users/default/permissions', () => deps.runtime.readPermissions(), { auth: 'admin' })

    .post('/api/v1/users/default/permissions', async ({ body, principal, request, server }) => {
      const saved = await deps.runtime.savePermissions(body as Permissions)
      deps.store.accountChanges.accessChanged(null)
      deps.audit.record({ event: 'default_permissions_changed', actorId: principal.user.id, ip: ipOf(request, server), details: { api_keys: saved.features?.api_keys ?? false } })
      return saved
    }, { auth: 'admin', body: PermissionsBody })

    // note: the defaults combined with the caller's groups (auth/permissions.ts), api_keys as this caller may use them.
    .get('/api/v1/users/permissions', ({ principal }) => permissionsOf(deps, principal.user), { auth: 'active' })
}
