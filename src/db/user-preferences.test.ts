import { expect, test } from 'bun:test'
import type { UserId } from './ids.ts'
import { PROFILE_IMAGE_MAX_CHARS, profileImageBytes, profileImageOf, withProfileImage } from './user-preferences.ts'

const id = 'u1' as UserId
const PNG = 'data:image/png;base64,iVBORw0KGgo='

test.each([
  ['a PNG data URL', PNG, { ok: true, preferences: { bio: 'b', profile_image_url: PNG } }],
  ['empty: back to the default', '', { ok: true, preferences: { bio: 'b' } }],
  ['the default picture', '/user.png', { ok: true, preferences: { bio: 'b' } }],
  ['an SVG', 'data:image/svg+xml;base64,PHN2Zz4=', { ok: false, reason: 'invalid_profile_image' }],
  ['a remote URL', 'https://example.com/a.png', { ok: false, reason: 'invalid_profile_image' }],
  ['base64 with a newline', 'data:image/png;base64,AAAA\nBBBB', { ok: false, reason: 'invalid_profile_image' }],
  ['too large', 'data:image/png;base64,' + 'A'.repeat(PROFILE_IMAGE_MAX_CHARS), { ok: false, reason: 'profile_image_too_large' }],
])('withProfileImage: %s', (_, posted, expected) => {
  expect(withProfileImage({ bio: 'b', profile_image_url: 'data:image/gif;base64,R0lG' }, posted, id)).toEqual(expected as never)
})

test('the user\'s own image URL keeps the stored picture', () => {
  const kept = { profile_image_url: PNG }
  expect(withProfileImage(kept, '/api/v1/users/u1/profile/image', id)).toEqual({ ok: true, preferences: kept })
})

test('an imported value that is not a raster data URL reads as the default picture', () => {
  expect(profileImageOf({ profile_image_url: 'javascript:alert(1)' })).toBe('/user.png')
  expect(profileImageBytes({ profile_image_url: 'https://tracker.example/p.png' })).toBeNull()
  expect(profileImageBytes({ profile_image_url: PNG })?.type).toBe('image/png')
})
