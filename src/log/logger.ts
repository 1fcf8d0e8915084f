/**
 * The server log: one line per event on stderr, `time LEVEL message {fields}`. Callers pass facts
 * (ids, counts, paths), never keys, tokens, passwords or user content; this module cannot tell
 * them apart, so the rule lives with each call.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL'
export type LogFields = Record<string, string | number | boolean | null | undefined>

const severity: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 }

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)) {
  function log(at: LogLevel, message: string, fields?: LogFields): void {
    if (severity[at] < severity[level]) return
    const suffix = fields === undefined ? '' : ` ${JSON.stringify(fields)}`
    write(`${new Date().toISOString()} ${at} ${message}${suffix}\n`)
  }
  return {
    debug: (message: string, fields?: LogFields) => log('DEBUG', message, fields),
    info: (message: string, fields?: LogFields) => log('INFO', message, fields),
    warn: (message: string, fields?: LogFields) => log('WARNING', message, fields),
    error: (message: string, fields?: LogFields) => log('ERROR', message, fields),
  }
}

export type Logger = ReturnType<typeof createLogger>

/** A logger that drops everything, for tests that don't read the log. */
export const silentLogger: Logger = createLogger('CRITICAL', () => {})
