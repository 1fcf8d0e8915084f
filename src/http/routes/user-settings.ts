/**
 * A user's own settings and profile, as Open WebUI's web page and Conduit call them:
 * GET /api/v1/users/user/settings and POST .../settings/update (the UI settings object, `{ ui }`),
 * GET /api/v1/users/user/info and POST .../info/update (merged), POST /api/v1/auths/update/profile
 * (name, profile image as a data URL, bio, gender, date of birth; answers the session user) and
 * POST /api/v1/auths/update/timezone. Everything is kept in the user's sealed preferences.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { mayUseApiKeys } from '../../auth/authenticate.ts'
import { describeSessionUser } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { profileImageOf, readUserPreferences, updateUserPreferences, type UserPreferences } from '../../db/user-preferences.ts'
import type { UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

/** The largest profile image accepted, as data URL characters (Open WebUI's page sends a 250x250 picture, well under this). */
export const PROFILE_IMAGE_MAX_CHARS = 512 * 1024
/** The largest settings or info object accepted, as JSON characters. */
const SETTINGS_MAX_CHARS = 256 * 1024

// note: raster images only: an SVG data URL may carry script.
const DATA_IMAGE = /^data:image\/(png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/

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

/** Checks a profile image: '' or the default picture resets it; a raster data URL within the limit is kept; null: refused. */
export function acceptProfileImage(value: string, userId: UserId): string | null | undefined {
  if (value === '' || value === '/user.png' || value === `/api/v1/users/${userId}/profile/image`) return undefined
  if (value.length > PROFILE_IMAGE_MAX_CHARS) throw new HttpError(413, 'profile_image_too_large', 'The profile image is too large; use a smaller picture.')
  return DATA_IMAGE.test(value) ? value : null
}

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

const checkSize = (value: unknown) => {
  if (JSON.stringify(value).length > SETTINGS_MAX_CHARS) throw new HttpError(413, 'settings_too_large', 'The settings are too large.')
}

export const userSettingsRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const preferencesOf = (id: UserId): UserPreferences => {
    const found = readUserPreferences(deps.store.users, id)
    if (found === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return found
  }
  const update = (id: UserId, patch: UserPreferences): UserPreferences => {
    const updated = updateUserPreferences(deps.store.users, id, patch)
    if (updated === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return updated
  }

  return new Elysia()
    .use(requireAuth(deps, trustedProxies))
    // note: null for an account that never saved settings, as Open WebUI answers; both clients expect it.
    .get('/api/v1/users/user/settings', ({ principal }) => preferencesOf(principal.user.id).settings ?? null, { auth: 'active' })

    .post('/api/v1/users/user/settings/update', ({ principal, body }) => {
      checkSize(body)
      return update(principal.user.id, { settings: body }).settings
    }, { auth: 'active', body: JsonObject })

    .get('/api/v1/users/user/info', ({ principal }) => preferencesOf(principal.user.id).info ?? null, { auth: 'active' })

    .post('/api/v1/users/user/info/update', ({ principal, body }) => {
      checkSize(body)
      const info = { ...preferencesOf(principal.user.id).info, ...body }
      checkSize(info)
      return update(principal.user.id, { info }).info
    }, { auth: 'active', body: JsonObject })

    .post('/api/v1/auths/update/profile', ({ principal, body }) => {
      const user = principal.user
      const image = body.profile_image_url === undefined ? undefined : acceptProfileImage(body.profile_image_url.trim(), user.id)
      if (image === null) throw new HttpError(400, 'invalid_profile_image', 'The profile image must be a PNG, JPEG, GIF or WebP picture sent as a data URL.')
      const name = body.name.trim()
      if (name === '') throw new HttpError(400, 'blank_name', 'Please give a name.')
      deps.store.users.renameUser(user.id, name)
      const next: UserPreferences = { ...preferencesOf(user.id) }
      if (body.profile_image_url !== undefined) {
        if (image === undefined) delete next.profile_image_url
        else next.profile_image_url = image
      }
      if (body.bio !== undefined) next.bio = body.bio
      if (body.gender !== undefined) next.gender = body.gender
      if (body.date_of_birth !== undefined) next.date_of_birth = body.date_of_birth
      deps.store.users.setUserPreferences(user.id, next)
      const renamed = deps.store.users.findUserById(user.id)!
      return {
        ...describeSessionUser(renamed, mayUseApiKeys(deps, renamed), profileImageOf(next)),
        bio: next.bio ?? null, gender: next.gender ?? null, date_of_birth: next.date_of_birth ?? null, timezone: next.timezone ?? null,
      }
    }, { auth: 'active', body: ProfileBody })

    .post('/api/v1/auths/update/timezone', ({ principal, body }) => {
      const zone = body.timezone.trim()
      if (!isTimeZone(zone)) throw new HttpError(400, 'invalid_timezone', 'That is not a known time zone.')
      update(principal.user.id, { timezone: zone })
      return { status: true }
    }, { auth: 'active', body: TimezoneBody })
}
