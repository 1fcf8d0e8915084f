/**
 * Chunked encryption of one stored file's bytes (uploads, src/db/file-blobs.ts):
 *
 *   "ENCLFIL1" | chunk 0 | chunk 1 | ...      each chunk: nonce (12) | ciphertext | tag (16)
 *
 * Every chunk but the last holds exactly FILE_CHUNK_BYTES of plaintext; the last holds fewer
 * (possibly none), so a file always ends with a chunk flagged last. Each chunk is AES-256-GCM under
 * the file's own random key, with a fresh random nonce, and its associated data binds the format,
 * the file's id, the chunk's index and the last-chunk flag. So a chunk flipped, truncated away,
 * reordered, moved from another file (another key and id), or appended after the last one fails to
 * open, and a file cut at a chunk boundary lacks its last flag and fails too. The file key is sealed
 * in the file's row under its owner's data key: deleting the row, or the owner's keys, leaves the
 * bytes undecryptable. Memory stays at one chunk whatever the file's size.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'

export const FILE_MAGIC = 'ENCLFIL1'
export const FILE_CHUNK_BYTES = 64 * 1024
const NONCE_BYTES = 12
const TAG_BYTES = 16
export const CHUNK_OVERHEAD_BYTES = NONCE_BYTES + TAG_BYTES
/** Bytes of one stored full chunk. */
export const SEALED_CHUNK_BYTES = FILE_CHUNK_BYTES + CHUNK_OVERHEAD_BYTES

/** Why a stored file did not open; the message names the chunk, never any content. */
export class FileChunkError extends Error {
  constructor(readonly fileId: string, readonly chunkIndex: number, readonly reason: 'altered' | 'truncated' | 'bad_header' | 'trailing_data') {
    const what = { altered: 'was altered, moved or sealed under another key', truncated: 'is missing: the file is truncated', bad_header: 'is not in the stored-file format', trailing_data: 'follows the last chunk' }
    super(`Stored file ${fileId}: chunk ${chunkIndex} ${what[reason]}.`)
    this.name = 'FileChunkError'
  }
}

function associatedData(fileId: string, index: number, isLast: boolean): Buffer {
  const id = Buffer.from(fileId, 'utf8')
  const aad = Buffer.alloc(FILE_MAGIC.length + 2 + id.length + 8 + 1)
  aad.write(FILE_MAGIC, 0, 'latin1')
  aad.writeUInt16BE(id.length, 8)
  id.copy(aad, 10)
  aad.writeBigUInt64BE(BigInt(index), 10 + id.length)
  aad[aad.length - 1] = isLast ? 1 : 0
  return aad
}

/** Seals chunk `index` of the file (plaintext at most FILE_CHUNK_BYTES; exactly that unless last), as its three stored parts in order. */
export function sealChunkParts(key: Uint8Array, fileId: string, index: number, isLast: boolean, plaintext: Uint8Array): [Uint8Array, Buffer, Buffer] {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(associatedData(fileId, index, isLast))
  const body = cipher.update(plaintext)
  cipher.final()
  return [nonce, body, cipher.getAuthTag()]
}

/** Seals chunk `index` of the file into one buffer: nonce, ciphertext, tag. */
export function sealChunk(key: Uint8Array, fileId: string, index: number, isLast: boolean, plaintext: Uint8Array): Buffer {
  return Buffer.concat(sealChunkParts(key, fileId, index, isLast, plaintext))
}

/** Opens chunk `index`; throws FileChunkError when it does not authenticate for that place. */
export function openChunk(key: Uint8Array, fileId: string, index: number, isLast: boolean, sealed: Uint8Array): Buffer {
  if (sealed.length < CHUNK_OVERHEAD_BYTES) throw new FileChunkError(fileId, index, 'truncated')
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES))
    decipher.setAAD(associatedData(fileId, index, isLast))
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const body = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES))
    decipher.final()
    return body
  } catch {
    throw new FileChunkError(fileId, index, 'altered')
  }
}
