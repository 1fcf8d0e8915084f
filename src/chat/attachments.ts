/**
 * Files attached to a chat message: resolved for their owner only (another user's file id, or an
 * unknown one, is `file_not_found`), images read whole and base64-encoded for Ollama's `images`
 * (bounded by the image limit), every file kept as a reference in the message (Open WebUI's
 * `files` entries: type, id, name, url), sealed with it. A model that Ollama says cannot read images
 * (no "vision" in /api/show's capabilities) is refused before anything is sent, never sent images
 * it would silently drop.
 */
import type { FileId, FileRepo } from '../db/files.ts'
import { parseFileId } from '../db/files.ts'
import type { UserId } from '../db/ids.ts'
import { IMAGE_TYPES } from '../files/detect-type.ts'
import type { Connections } from './connections.ts'
import { OllamaError } from './ollama-client.ts'

/** A message's reference to one of its files, as Open WebUI stores it in `message.files`. */
export type FileReference = { type: 'image' | 'file'; id: string; name: string; url: string; content_type: string; size: number }

export type AttachmentLimits = { maxFilesPerMessage: number; maxImageBytes: number }

export type ResolvedAttachments =
  | { ok: true; images: string[]; references: FileReference[] }
  | { ok: false; code: 'file_not_found' | 'too_many_files' | 'image_too_large'; message: string }

/** The URL a stored file is served at, for the user who owns it. */
export const fileContentUrl = (id: string) => `/api/v1/files/${id}/content`

/** Resolves the owner's files named by `ids` into base64 images and references; refuses any id that is not theirs. */
export async function resolveAttachments(files: FileRepo, owner: UserId, ids: readonly string[], limits: AttachmentLimits): Promise<ResolvedAttachments> {
  if (ids.length > limits.maxFilesPerMessage) {
    return { ok: false, code: 'too_many_files', message: `A message may carry at most ${limits.maxFilesPerMessage} files (RAG_FILE_MAX_COUNT).` }
  }
  const images: string[] = []
  const references: FileReference[] = []
  for (const raw of new Set(ids)) {
    const id = parseFileId(raw)
    const file = id === null ? null : await files.get(owner, id)
    if (file === null) return { ok: false, code: 'file_not_found', message: 'An attached file was not found: it may have been deleted.' }
    const isImage = IMAGE_TYPES.has(file.contentType)
    references.push({ type: isImage ? 'image' : 'file', id: file.id, name: file.name, url: fileContentUrl(file.id), content_type: file.contentType, size: file.size })
    if (!isImage) continue
    const image = await imageOf(files, owner, file.id, limits.maxImageBytes)
    if (image === null) return { ok: false, code: 'image_too_large', message: `An attached image is larger than the ${Math.round(limits.maxImageBytes / 1024 / 1024)} MB a model is sent.` }
    images.push(image)
  }
  return { ok: true, images, references }
}

/** The base64 of the owner's image file; null when it is not theirs or too large. */
export async function imageOf(files: FileRepo, owner: UserId, id: FileId, maxBytes: number): Promise<string | null> {
  const bytes = await files.readBytes(owner, id, maxBytes)
  return bytes === null ? null : Buffer.from(bytes).toString('base64')
}

export type VisionCheck = { ok: true } | { ok: false; code: 'model_without_vision'; message: string }

/**
 * Checks that `model` reads images, as the first connection that has it reports. An Ollama too old
 * to report capabilities, or one that cannot be asked, passes: Ollama's own answer then decides.
 */
export async function checkVision(connections: Connections, model: string): Promise<VisionCheck> {
  const candidates = connections.listedClientFor(model) ?? await connections.clientFor(model)
  const first = candidates[0]
  if (first === undefined) return { ok: true }
  let capabilities: string[] | null
  try {
    capabilities = await first.client.capabilities(model, { signal: AbortSignal.timeout(10_000) })
  } catch (error) {
    if (error instanceof OllamaError) return { ok: true }
    throw error
  }
  if (capabilities === null || capabilities.includes('vision')) return { ok: true }
  return { ok: false, code: 'model_without_vision', message: `The model ${model.slice(0, 100)} cannot read images (Ollama lists no vision capability for it): choose a vision model, such as llava or gemma3, or send the message without images.` }
}
