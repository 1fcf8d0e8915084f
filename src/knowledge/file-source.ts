/**
 * Uploaded files as retrieval sees them, over the file repository (src/db/files.ts): read whole for
 * extraction (bounded by the upload limit), the processing status and extracted text written back
 * into the file's sealed `data` as Open WebUI keeps it (`status`, `content`, `error`), and the
 * file's uses by knowledge bases recorded, so deleting a chat that referred to the file keeps it.
 */
import type { FileId, FileRepo } from '../db/files.ts'
import type { UserId } from '../db/ids.ts'
import type { FileSource, FileStatus } from './rag-deps.ts'

export function fileSourceOf(files: FileRepo, maxBytes: number): FileSource {
  return {
    mediaTypeOf: async (owner, fileId) => (await files.get(owner, fileId as FileId))?.contentType ?? null,
    async readFileForUser(owner, fileId) {
      const file = await files.get(owner, fileId as FileId)
      if (file === null) return null
      const bytes = await files.readBytes(owner, file.id, maxBytes)
      return bytes === null ? null : { name: file.name, mediaType: file.contentType, bytes }
    },
    async statusOf(owner, fileId) {
      const file = await files.get(owner, fileId as FileId)
      return file === null ? null : statusIn(file.data)
    },
    async recordStatus(owner: UserId, fileId: string, status) {
      const file = await files.get(owner, fileId as FileId)
      if (file === null) return
      const { content: _, error: __, ...rest } = file.data
      await files.setData(owner, file.id, { ...rest, ...status })
    },
    async claimForReading(owner, fileId, may) {
      if (await files.get(owner, fileId as FileId) === null) return null
      let previous: FileStatus | null = null
      const claimed = await files.changeDataIf(owner, fileId as FileId, (data) => {
        previous = statusIn(data)
        if (!may(previous)) return null
        const { error: _, ...rest } = data
        return { ...rest, status: 'processing' }
      })
      return claimed === null || previous === null ? false : previous
    },
    async releaseReading(owner, fileId, previous) {
      await files.changeDataIf(owner, fileId as FileId, (data) => {
        if (data.status !== 'processing') return null
        const { status: _, error: __, ...rest } = data
        return { ...rest, ...(previous.status === null ? {} : { status: previous.status }), ...(previous.error === null ? {} : { error: previous.error }) }
      })
    },
    async recordKnowledgeUse(owner, fileId, knowledgeId, isUsed) {
      if (isUsed) await files.addUse(owner, fileId as FileId, 'knowledge', knowledgeId)
      else await files.removeUse(fileId as FileId, 'knowledge', knowledgeId)
    },
    async forgetKnowledgeUses(knowledgeId) {
      await files.removeUsesOf('knowledge', knowledgeId)
    },
  }
}

const statusIn = (data: Record<string, unknown>): FileStatus =>
  ({ status: typeof data.status === 'string' ? data.status : null, error: typeof data.error === 'string' ? data.error : null })
