import { integerFrom } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** Limits on uploaded files (src/http/routes/files.ts), in bytes and counts. */
export type FileConfig = Readonly<{
  /** Largest single file. */
  maxFileBytes: number
  /** Most files one message may carry (Open WebUI's RAG_FILE_MAX_COUNT). */
  maxFilesPerMessage: number
  /** Total size of one user's stored files. */
  userQuotaBytes: number
  /** Largest image sent inline as a data: URL on the OpenAI-compatible routes. */
  maxInlineImageBytes: number
}>

const MB = 1024 * 1024

/** Uploads. RAG_FILE_MAX_SIZE and RAG_FILE_MAX_COUNT keep Open WebUI's names and meanings; the quota is ours. */
export const fileVariables = {
  RAG_FILE_MAX_SIZE: {
    parse: integerFrom(1, 1024 * 1024), default: 100,
    doc: 'Largest file a user may upload, in MB. The upload is streamed and encrypted as it arrives, so this bounds disk use, not memory.',
  },
  RAG_FILE_MAX_COUNT: { parse: integerFrom(1, 1000), default: 10, doc: 'Most files one message may carry.' },
  USER_FILE_STORAGE_QUOTA: {
    parse: integerFrom(1, 1024 * 1024 * 1024), default: 1024,
    doc: 'Total size of the files one user may keep, in MB; an upload that would pass it is refused with file_quota_exceeded.',
  },
  IMAGE_DATA_URL_MAX_SIZE: {
    parse: integerFrom(1, 1024), default: 20,
    doc: 'Largest image sent inline as a data: URL in an image_url part on the OpenAI-compatible routes, in MB (remote image URLs are refused: Enclave never fetches them).',
  },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the file limits from the parsed variables. */
export function fileConfigFrom(values: VariableValues): FileConfig {
  return {
    maxFileBytes: values.RAG_FILE_MAX_SIZE * MB,
    maxFilesPerMessage: values.RAG_FILE_MAX_COUNT,
    userQuotaBytes: values.USER_FILE_STORAGE_QUOTA * MB,
    maxInlineImageBytes: values.IMAGE_DATA_URL_MAX_SIZE * MB,
  }
}
