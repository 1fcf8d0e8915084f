/**
 * Images in OpenAI `image_url` content parts, before they become Ollama's base64 `images`. Accepted:
 * a base64 `data:image/...` URL of at most the inline image limit, or a reference to one of the
 * caller's own uploads (`/api/v1/files/{id}/content`, or the bare id, as Open WebUI's page sends
 * uploaded images), read from the encrypted store. Refused: any other URL. Enclave never fetches a
 * URL a client gives (server-side request forgery: the server's network is not the client's).
 */
import { imageOf } from '../../chat/attachments.ts'
import type { FileRepo } from '../../db/files.ts'
import { parseFileId } from '../../db/files.ts'
import type { UserId } from '../../db/ids.ts'
import { OpenAiError, type CompletionRequest } from './openai-shapes.ts'

type Messages = CompletionRequest['messages']

const ownFilePattern = /^(?:\/api\/v1\/files\/)?([0-9a-f-]{36})(?:\/content)?$/
const dataUrlPattern = /^data:image\/[a-z0-9.+-]+;base64,/i

const refused = (message: string, status = 400) => new OpenAiError(status, 'invalid_request_error', 'invalid_image', message)

/** The messages with every image part as a data: URL; throws a 4xx OpenAiError for a remote, oversized or unknown image. */
export async function inlineImageParts(files: FileRepo, owner: UserId, messages: Messages, maxImageBytes: number): Promise<Messages> {
  const out: Messages = []
  for (const message of messages) {
    if (!Array.isArray(message.content)) {
      out.push(message)
      continue
    }
    const parts = []
    for (const part of message.content) {
      if (part.type !== 'image_url' || part.image_url === undefined) {
        parts.push(part)
        continue
      }
      parts.push({ ...part, image_url: { ...part.image_url, url: await inlineUrl(files, owner, part.image_url.url.trim(), maxImageBytes) } })
    }
    out.push({ ...message, content: parts })
  }
  return out
}

async function inlineUrl(files: FileRepo, owner: UserId, url: string, maxImageBytes: number): Promise<string> {
  const limitMb = Math.round(maxImageBytes / 1024 / 1024)
  if (dataUrlPattern.test(url)) {
    const encoded = url.length - url.indexOf(',') - 1
    if (Math.floor(encoded * 3 / 4) > maxImageBytes) throw refused(`An image is larger than the ${limitMb} MB accepted inline (IMAGE_DATA_URL_MAX_SIZE).`, 413)
    return url
  }
  const own = ownFilePattern.exec(url)
  const id = own === null ? null : parseFileId(own[1]!)
  if (id !== null) {
    const file = await files.get(owner, id)
    if (file === null) throw new OpenAiError(404, 'invalid_request_error', 'file_not_found', 'An image names a file that was not found.')
    const image = file.contentType.startsWith('image/') ? await imageOf(files, owner, id, maxImageBytes) : null
    if (image === null) throw refused(file.contentType.startsWith('image/') ? `An image is larger than the ${limitMb} MB a model is sent.` : 'An image part names a file that is not an image.')
    return `data:${file.contentType};base64,${image}`
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    throw refused('Image URLs are not fetched: Enclave never downloads a URL a client gives. Send the image as a base64 data: URL, or upload it to /api/v1/files/ and name it.')
  }
  throw refused('Images must be base64 data: URLs or uploaded files.')
}

/** Whether any message carries an image part. */
export const hasImageParts = (messages: Messages) => messages.some((message) => Array.isArray(message.content) && message.content.some((part) => part.type === 'image_url'))
