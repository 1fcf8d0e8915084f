import { byteSize } from './parsers.ts'
import type { Variable } from './variable.ts'

/** The security audit log in DATA_DIR/audit.log. */
export const auditVariables = {
  AUDIT_LOG_FILE_ROTATION_SIZE: {
    parse: byteSize, default: 10 * 1024 * 1024,
    doc: 'Size at which DATA_DIR/audit.log (JSON lines, mode 0600) is renamed to audit.log.1 and a new one started; five rotated files are kept. Units are powers of 1024, such as 10MB or 512kb.',
  },
} as const satisfies Record<string, Variable<unknown>>
