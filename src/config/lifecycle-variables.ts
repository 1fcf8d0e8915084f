import { boolean, integerFrom, nonEmptyText, path } from './parsers.ts'
import type { Variable } from './variable.ts'

/** The data lifecycle: master key rotation, exports and retention. */
export const lifecycleVariables = {
  ENCRYPTION_KEY_PREVIOUS: {
    parse: nonEmptyText, default: null, secret: true,
    doc: 'The master key before a rotation, in the same form as ENCRYPTION_KEY. Accepted only to finish that rotation at start (every data key is re-wrapped under the current key in one transaction); never used to write. Remove it once the log says the rotation is complete.',
  },
  ENCRYPTION_KEY_PREVIOUS_FILE: {
    parse: path, default: null,
    doc: 'File holding ENCRYPTION_KEY_PREVIOUS (mode 0600). With a generated key, DATA_DIR/.encryption_key.previous plays this part during `enclave keys rotate`.',
  },
  LIBRE_WEBUI_ENCRYPTION_KEY: {
    parse: nonEmptyText, default: null, secret: true,
    doc: 'Libre WebUI\'s ENCRYPTION_KEY (64 hex characters), read only by `enclave import libre-webui` to open the data it imports; never used for Enclave\'s own data. When unset (and no --encryption-key-file is given), the import tries the source\'s DATA_DIR/.encryption_key, then ENCRYPTION_KEY.',
  },
  ENABLE_ADMIN_EXPORT: {
    parse: boolean, default: false,
    doc: 'Let administrators download every user\'s chats, decrypted, from /api/v1/chats/all/db (audited). Off: the route does not exist.',
  },
  CHAT_RETENTION_DAYS: {
    parse: integerFrom(1, 36500), default: null,
    doc: 'Delete chats not updated for this many days (checked at start and hourly; pinned chats are kept; the count goes to the audit log). Unset keeps chats forever.',
  },
} as const satisfies Record<string, Variable<unknown>>
