/**
 * What a user keeps about themselves, inside their sealed `preferences` column (user table, sealed
 * under their own data key, so none of it is readable on disk): Open WebUI's UI settings object
 * (`settings`, `{ ui: {...} }`), its free-form `info`, the profile image (a data URL), time zone,
 * bio, gender and date of birth. Other keys (an import's `libreWebui`) are kept as they are.
 */
import type { UserId } from './ids.ts'
import type { UserRepo } from './users.ts'

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
export function readUserPreferences(users: UserRepo, id: UserId): UserPreferences | null {
  return users.findUserPreferences(id) as UserPreferences | null
}

/** Merges `patch` over the stored preferences (one synchronous read and write); null when there is no such user. */
export function updateUserPreferences(users: UserRepo, id: UserId, patch: UserPreferences): UserPreferences | null {
  const current = users.findUserPreferences(id)
  if (current === null) return null
  const next = { ...current, ...patch }
  return users.setUserPreferences(id, next) ? next as UserPreferences : null
}

/** The user's profile image as clients show it: the stored data URL, or the default picture. */
export function profileImageOf(preferences: UserPreferences | null): string {
  return preferences?.profile_image_url ?? '/user.png'
}
