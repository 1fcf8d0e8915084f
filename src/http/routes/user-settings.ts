/**
 * A user's own settings and profile, as Open WebUI's web page and Conduit call them:
 * GET /api/v1/users/user/settings and POST .../settings/update (the UI settings object, `{ ui }`),
 * GET /api/v1/users/user/info and POST .../info/update (both updates merged over the stored top-level
 * keys in one transaction), POST /api/v1/auths/update/profile (name, profile image as a data URL, bio,
 * gender, date of birth; answers the session user) and POST /api/v1/auths/update/timezone.
 * Everything is kept in the user's sealed preferences.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { permissionsOf } from '../../auth/authenticate.ts'
import { describeSessionUser } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import {
  mergeUserPreferenceObject, PROFILE_IMAGE_MAX_CHARS, profileImageOf, readUserPreferences, updateUserPreferences, withProfileImage, type ProfileImageResult, type UserPreferences,
} from '../../db/user-preferences.ts'
import type { UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

/** The largest settings or info object accepted, as JSON characters. */
const SETTINGS_MAX_CHARS = 256 * 1024

const JsonObject = t.Record(t.String({ maxLength: 200 }), t.Unknown())
const ProfileBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 200 }),
  // note: longer than the limit, so an oversized picture is told apart (413) from a malformed body.
  profile_image_url: t.Optional(t.String({ maxLength: PROFILE_IMAGE_MAX_CHARS * 4 })),
  bio: t.Optional(t.Nullable(t.String({ maxLength: 2000 }))),
  gender: t.Optional(t.Nullable(t.String({ maxLength: 100 }))),
  date_of_birth: t.Optional(t.Nullable(t.String({ maxLength: 40 }))),
})
const TimezoneBody = t.Object({ timezone: t.String({ minLength: 1, maxLength: 64 }) })

/** Maps a refused profile image to its answer. */
export function profileImageRefusal(reason: Extract<ProfileImageResult, { ok: false }>['reason']): HttpError {
  switch (reason) {
    case 'profile_image_too_large': return new HttpError(413, reason, 'The profile image is too large; use a smaller picture.')
    case 'invalid_profile_image': return new HttpError(400, reason, 'The profile image must be a PNG, JPEG, GIF or WebP picture sent as a data URL.')
  }
}

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** JSON `null` (Elysia would send an empty body for a returned null, which neither client can parse). */
const jsonOrNull = (value: unknown) => (value ?? new Response('null', { headers: { 'content-type': 'application/json' } }))
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

const checkSize = (value: unknown) => {
  if (JSON.stringify(value).length > SETTINGS_MAX_CHARS) throw new HttpError(413, 'settings_too_large', 'The settings are too large.')
}

export const userSettingsRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const preferencesOf = async (id: UserId): Promise<UserPreferences> => {
    const found = await readUserPreferences(deps.store.users, id)
    if (found === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return found
  }
  const update = async (id: UserId, patch: UserPreferences): Promise<UserPreferences> => {
    const updated = await updateUserPreferences(deps.store.users, id, patch)
    if (updated === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return updated
  }

  const merge = async (id: UserId, key: 'settings' | 'info', patch: Record<string, unknown>): Promise<Record<string, unknown>> => {
    checkSize(patch)
    const merged = await mergeUserPreferenceObject(deps.store.users, id, key, patch, SETTINGS_MAX_CHARS)
    if (merged === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    if (!merged.ok) throw new HttpError(413, 'settings_too_large', 'The settings are too large.')
    return merged.value
  }

  return new Elysia()
    .use(requireAuth(deps, trustedProxies))
    // note: null for an account that never saved settings, as Open WebUI answers; both clients expect it.
    .get('/api/v1/users/user/settings', async ({ principal }) => jsonOrNull((await preferencesOf(principal.user.id)).settings), { auth: 'active' })

    // note: the posted top-level keys replace the stored ones and the others stay, as Open WebUI's
    // Users.update_user_settings_by_id (`user_settings.update(updated)`): its page posts only `{ ui }`,
    // and Conduit (api_service.dart updateUserReasoningEffort) relies on `params` surviving that.
    .post('/api/v1/users/user/settings/update', async ({ principal, body }) => {
      // note: as Open WebUI, a user without features.direct_tool_servers may not keep tool servers.
      const ui = body.ui
      if (principal.user.role !== 'admin' && (await deps.runtime.readPermissions()).features?.direct_tool_servers !== true && isObject(ui) && 'toolServers' in ui) {
        const { toolServers: _, ...rest } = ui
        return await merge(principal.user.id, 'settings', { ...body, ui: rest })
      }
      return await merge(principal.user.id, 'settings', body)
    }, { auth: 'active', body: JsonObject })

    .get('/api/v1/users/user/info', async ({ principal }) => jsonOrNull((await preferencesOf(principal.user.id)).info), { auth: 'active' })

    .post('/api/v1/users/user/info/update', async ({ principal, body }) => await merge(principal.user.id, 'info', body), { auth: 'active', body: JsonObject })

    .post('/api/v1/auths/update/profile', async ({ principal, body }) => {
      const user = principal.user
      const name = body.name.trim()
      if (name === '') throw new HttpError(400, 'blank_name', 'Please give a name.')
      // note: read and written in one transaction, so a settings update made meanwhile is kept.
      const outcome: { refused: Extract<ProfileImageResult, { ok: false }>['reason'] | null } = { refused: null }
      const stored = await deps.store.users.changeUserPreferences(user.id, (current) => {
        let changed = { ...current } as UserPreferences
        outcome.refused = null
        if (body.profile_image_url !== undefined) {
          const result = withProfileImage(changed, body.profile_image_url, user.id)
          if (!result.ok) {
            outcome.refused = result.reason
            return null
          }
          changed = result.preferences
        }
        if (body.bio !== undefined) changed.bio = body.bio
        if (body.gender !== undefined) changed.gender = body.gender
        if (body.date_of_birth !== undefined) changed.date_of_birth = body.date_of_birth
        return changed
      })
      if (stored === null) throw new HttpError(404, 'user_not_found', 'User not found.')
      if (outcome.refused !== null) throw profileImageRefusal(outcome.refused)
      const next = stored as UserPreferences
      await deps.store.users.renameUser(user.id, name)
      const renamed = (await deps.store.users.findUserById(user.id))!
      return {
        ...describeSessionUser(renamed, await permissionsOf(deps, renamed), profileImageOf(next)),
        bio: next.bio ?? null, gender: next.gender ?? null, date_of_birth: next.date_of_birth ?? null, timezone: next.timezone ?? null,
      }
    }, { auth: 'active', body: ProfileBody })

    .post('/api/v1/auths/update/timezone', async ({ principal, body }) => {
      const zone = body.timezone.trim()
      if (!isTimeZone(zone)) throw new HttpError(400, 'invalid_timezone', 'That is not a known time zone.')
      // note: the web page sends this on every load; an unchanged zone is not written again.
      if ((await preferencesOf(principal.user.id)).timezone !== zone) await update(principal.user.id, { timezone: zone })
      return { status: true }
    }, { auth: 'active', body: TimezoneBody })
}
