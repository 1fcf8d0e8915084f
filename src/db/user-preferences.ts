/**
 * What a user keeps about themselves, inside their sealed `preferences` column (user table, sealed
 * under their own data key, so none of it is readable on disk): Open WebUI's UI settings object
 * (`settings`, `{ ui: {...} }`), its free-form `info`, the profile image (a data URL), time zone,
 * bio, gender and date of birth. Other keys (an import's `libreWebui`) are kept as they are.
 */
import type { UserId } from './ids.ts'
import type { UserRepo } from './users.ts'

// note: raster images only: an SVG data URL may carry script; a remote URL would tell its host who looks.
const DATA_IMAGE = /^data:image\/(png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/

export type UserPreferences = {
  settings?: Record<string, unknown>
  info?: Record<string, unknown>
  profile_image_url?: string
  timezone?: string
  bio?: string | null
  gender?: string | null
  date_of_birth?: string | null
}

/** The user's preferences, or null when there is no such user. */
export async function readUserPreferences(users: UserRepo, id: UserId): Promise<UserPreferences | null> {
  return await users.findUserPreferences(id) as UserPreferences | null
}

/** Merges `patch` over the stored preferences (read and written in one transaction); null when there is no such user. */
export async function updateUserPreferences(users: UserRepo, id: UserId, patch: UserPreferences): Promise<UserPreferences | null> {
  return await users.mergeUserPreferences(id, patch) as UserPreferences | null
}

export type MergeResult = { ok: true; value: Record<string, unknown> } | { ok: false; reason: 'too_large' }

/**
 * Merges `patch` over the top-level keys of the stored `settings` or `info` object, read and written
 * in one transaction (a concurrent update of another key is kept); refuses, writing nothing, a result
 * longer than `maxChars` as JSON. Null when there is no such user.
 */
export async function mergeUserPreferenceObject(
  users: UserRepo, id: UserId, key: 'settings' | 'info', patch: Record<string, unknown>, maxChars: number,
): Promise<MergeResult | null> {
  let isTooLarge = false
  const written = await users.changeUserPreferences(id, (current) => {
    const stored = current[key]
    const value = { ...(typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? stored : {}), ...patch }
    isTooLarge = JSON.stringify(value).length > maxChars
    return isTooLarge ? null : { ...current, [key]: value }
  })
  if (written === null) return null
  if (isTooLarge) return { ok: false, reason: 'too_large' }
  return { ok: true, value: written[key] as Record<string, unknown> }
}

/** The user's profile image as clients show it: the stored data URL, or the default picture. */
export function profileImageOf(preferences: UserPreferences | null): string {
  const image = preferences?.profile_image_url
  return image !== undefined && DATA_IMAGE.test(image) ? image : '/user.png'
}

/** The stored picture's media type and bytes, or null when there is none (or an imported value is not a raster data URL). */
export function profileImageBytes(preferences: UserPreferences | null): { type: string; bytes: Uint8Array<ArrayBuffer> } | null {
  const image = profileImageOf(preferences)
  if (image === '/user.png') return null
  const comma = image.indexOf(',')
  return { type: image.slice('data:'.length, image.indexOf(';')), bytes: new Uint8Array(Buffer.from(image.slice(comma + 1), 'base64')) }
}

/** The largest profile image accepted, as data URL characters (Open WebUI's page sends a 250x250 picture, well under this). */
export const PROFILE_IMAGE_MAX_CHARS = 512 * 1024


export type ProfileImageResult = { ok: true; preferences: UserPreferences } | { ok: false; reason: 'invalid_profile_image' | 'profile_image_too_large' }

/**
 * Applies a posted profile image: '' or the default picture resets it, the user's own image URL
 * (as a client may send back) keeps it, a raster data URL within the limit replaces it.
 */
export function withProfileImage(preferences: UserPreferences, posted: string, userId: UserId): ProfileImageResult {
  const value = posted.trim()
  if (value === `/api/v1/users/${userId}/profile/image`) return { ok: true, preferences }
  if (value === '' || value === '/user.png') {
    const { profile_image_url: _, ...rest } = preferences
    return { ok: true, preferences: rest }
  }
  if (value.length > PROFILE_IMAGE_MAX_CHARS) return { ok: false, reason: 'profile_image_too_large' }
  if (!DATA_IMAGE.test(value)) return { ok: false, reason: 'invalid_profile_image' }
  return { ok: true, preferences: { ...preferences, profile_image_url: value } }
}
