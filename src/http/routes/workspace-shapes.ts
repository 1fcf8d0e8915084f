/**
 * The request shapes the workspace routes share (Open WebUI's `access_control`, a preset's meta
 * and params) and the checks TypeBox can't state: a picture is a raster data URL within a bound
 * (an SVG may carry script; a remote URL would tell its host who looks), and a known Ollama option
 * has a valid value, since an invalid one would be dropped silently at dispatch.
 */
import { t } from 'elysia'
import type { AccessControl } from '../../auth/access-control.ts'
import { invalidOptionNames } from '../../chat/model-options.ts'
import { HttpError } from '../http-error.ts'

/** The largest preset picture, as data URL characters. */
export const PRESET_IMAGE_MAX_CHARS = 512 * 1024
/** The largest meta or params object (the picture aside), as JSON characters. */
export const WORKSPACE_JSON_MAX_CHARS = 128 * 1024
const DATA_IMAGE = /^data:image\/(png|jpeg|jpg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/

const Ids = t.Array(t.String({ minLength: 1, maxLength: 64 }), { maxItems: 1000 })
const Grant = t.Object({ group_ids: t.Optional(Ids), user_ids: t.Optional(Ids) })
/** null: public (everyone reads); otherwise who reads and who writes (write implies read); {} is private. */
export const AccessControlBody = t.Nullable(t.Object({ read: t.Optional(Grant), write: t.Optional(Grant) }))

/** The stored grant, with both lists present in each part given. */
export function toAccessControl(body: { read?: { group_ids?: string[]; user_ids?: string[] }; write?: { group_ids?: string[]; user_ids?: string[] } } | null | undefined): AccessControl {
  if (body === undefined) return {}
  if (body === null) return null
  const grant = (part: { group_ids?: string[]; user_ids?: string[] } | undefined) => (part === undefined ? undefined : { group_ids: [...new Set(part.group_ids ?? [])], user_ids: [...new Set(part.user_ids ?? [])] })
  const read = grant(body.read)
  const write = grant(body.write)
  return { ...(read === undefined ? {} : { read }), ...(write === undefined ? {} : { write }) }
}

/** A free-form JSON object of bounded size. */
export const JsonObject = t.Record(t.String({ maxLength: 200 }), t.Unknown())

/** Refuses a meta whose picture is not a raster data URL within the bound, or that is too large. */
export function checkMeta(meta: Record<string, unknown>): void {
  const { profile_image_url: image, ...rest } = meta
  if (image !== undefined && image !== null && image !== '' && image !== '/static/favicon.png') {
    if (typeof image !== 'string') throw new HttpError(400, 'invalid_profile_image', 'The picture must be a PNG, JPEG, GIF or WebP picture sent as a data URL.')
    if (image.length > PRESET_IMAGE_MAX_CHARS) throw new HttpError(413, 'profile_image_too_large', 'The picture is too large; use a smaller one.')
    if (!DATA_IMAGE.test(image)) throw new HttpError(400, 'invalid_profile_image', 'The picture must be a PNG, JPEG, GIF or WebP picture sent as a data URL.')
  }
  if (JSON.stringify(rest).length > WORKSPACE_JSON_MAX_CHARS) throw new HttpError(413, 'meta_too_large', 'The description, suggestions and tags are too large.')
}

/** Refuses params with a known option of the wrong type or range, a system prompt that is not text, or too much. */
export function checkParams(params: Record<string, unknown>): void {
  if (JSON.stringify(params).length > WORKSPACE_JSON_MAX_CHARS) throw new HttpError(413, 'params_too_large', 'The parameters are too large.')
  if (params.system !== undefined && params.system !== null && typeof params.system !== 'string') throw new HttpError(400, 'invalid_params', 'The system prompt must be text.')
  const invalid = invalidOptionNames(params)
  if (invalid.length > 0) throw new HttpError(400, 'invalid_params', `These parameters have values out of range or of the wrong type: ${invalid.join(', ')}.`)
}

/** The picture of a stored meta, when it is one this server accepted. */
export function presetImageOf(meta: Record<string, unknown>): string | null {
  const image = meta.profile_image_url
  return typeof image === 'string' && DATA_IMAGE.test(image) ? image : null
}

export const seconds = (ms: number) => Math.floor(ms / 1000)
