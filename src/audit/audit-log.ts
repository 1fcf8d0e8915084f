/**
 * The security audit log: sign-ins and their failures, role changes, API keys, rate limits, forged
 * headers. One JSON object per line in DATA_DIR/audit.log, mode 0600, snake_case keys, absent
 * fields left out:
 *
 *   {"at":"2025-01-02T03:04:05.678Z","event":"signin_failed","ip":"203.0.113.7","reason":"wrong_password","method":"password"}
 *
 * When a line would push the file past maxBytes, audit.log becomes audit.log.1 (.1 becomes .2 and
 * so on up to .keepFiles; the oldest is dropped) and a new audit.log starts. Each line is a single
 * write, so no line is split or spread across two files.
 *
 * Threat: an audit log is read by more people than the database (operators, log shippers, support
 * tickets), and it is not encrypted, so it must never hold passwords, tokens, keys, emails or chat
 * text. AuditEntry has no free-text field for them. As a second line of defence, any string that
 * looks like one (contains '@', starts with 'sk-', is a JWT, or runs past 200 characters), any
 * reason or method that is not a snake_case code, and any details value that is an object is
 * dropped, and the line says "redacted": true.
 *
 * Invariant: every line holds only the event, the time, ids, an IP address, snake_case codes,
 * numbers, booleans and short strings that passed that check. record() never throws, so auditing
 * cannot break the request it describes.
 */
import { chmodSync, closeSync, existsSync, fchmodSync, fstatSync, openSync, renameSync, statSync, writeSync } from 'node:fs'
import { createLogger } from '../log/logger.ts'

export type AuditEvent =
  | 'signin_succeeded' | 'signin_failed' | 'signup' | 'signout' | 'session_revoked' | 'sessions_revoked_all'
  | 'role_changed' | 'user_deleted' | 'user_created' | 'password_changed' | 'api_key_created' | 'api_key_deleted'
  | 'api_key_denied' | 'socket_limit_reached' | 'rate_limited' | 'forged_trusted_header' | 'setup_token_used' | 'admin_bootstrapped' | 'account_claimed'
  | 'backchannel_logout' | 'backchannel_logout_refused'
  | 'backup_created' | 'master_key_rotated' | 'data_key_rotation_started' | 'chats_exported' | 'admin_export' | 'chats_expired'
  | 'admin_config_changed' | 'default_permissions_changed' | 'banners_changed' | 'models_config_changed' | 'prompt_suggestions_changed' | 'user_email_changed' | 'user_password_set_by_admin'
  | 'group_created' | 'group_updated' | 'group_deleted' | 'group_members_changed' | 'model_access_changed' | 'admin_chat_read'
  | 'second_factor_enrolled' | 'second_factor_removed' | 'second_factor_used' | 'second_factor_failed' | 'second_factor_challenge_issued'
  | 'recovery_codes_regenerated' | 'second_factors_reset'

export type AuditEntry = {
  event: AuditEvent
  /** Who acted (user id), when known. */
  actorId?: string | null
  /** Whom it concerned (user id), when not the actor. */
  targetId?: string | null
  /** Client IP address. */
  ip?: string | null
  /** Why, for failures: a closed snake_case reason code like 'wrong_password' or 'unknown_account'. */
  reason?: string
  /** How: e.g. 'password', 'ldap', 'api_key', 'trusted_header'. */
  method?: string
  /** Extra facts: ids, counts, names of things. Never secrets or user content. */
  details?: Record<string, string | number | boolean | null>
}

export type AuditLogOptions = {
  /** The current audit file, normally DATA_DIR/audit.log. */
  path: string
  /** Size past which the file is rotated (AUDIT_LOG_FILE_ROTATION_SIZE). */
  maxBytes: number
  /** Rotated files kept beside the current one (audit.log.1 … audit.log.N); 5 when unset. */
  keepFiles?: number
  /** Unix time in ms. */
  now: () => number
  /** Receives I/O errors; by default one line on stderr that names the file, never the entry. */
  onError?: (error: unknown) => void
}

/** Opens the audit log at `path`; nothing is touched on disk until the first record. */
export function createAuditLog(options: AuditLogOptions) {
  const { path, maxBytes, now } = options
  const keepFiles = options.keepFiles ?? 5
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`audit log maxBytes must be a positive integer, got ${maxBytes}`)
  if (!Number.isSafeInteger(keepFiles) || keepFiles < 1) throw new RangeError(`audit log keepFiles must be a positive integer, got ${keepFiles}`)
  const onError = options.onError ?? reportToStderr(path)
  let isClosed = false

  function appendLine(line: Buffer): void {
    const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0
    if (size > 0 && size + line.length > maxBytes) rotateFiles(path, keepFiles)
    const fd = openSync(path, 'a', 0o600)
    try {
      // note: open's mode applies only when it creates the file; one made earlier or by hand may be wider.
      if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600)
      const written = writeSync(fd, line)
      if (written !== line.length) throw new Error(`short write to ${path}: ${written} of ${line.length} bytes`)
    } finally {
      closeSync(fd)
    }
  }

  return {
    /** Appends one entry, redacting anything that looks secret; reports failures to onError, never throws. */
    record(entry: AuditEntry): void {
      try {
        if (isClosed) throw new Error(`audit log ${path} is closed`)
        const at = new Date(now()).toISOString()
        appendLine(Buffer.from(`${JSON.stringify(toAuditLine(entry, at))}\n`))
      } catch (error) {
        try {
          onError(error)
        } catch {
          // note: a failing error handler must not break the request either.
        }
      }
    },
    /** Stops recording; later entries are reported to onError as lost. */
    close(): void {
      isClosed = true
    },
  }
}

export type AuditLog = ReturnType<typeof createAuditLog>

/** An audit log that keeps entries in memory, for tests of other modules. */
export function createMemoryAuditLog(now: () => number = Date.now): AuditLog & { entries: (AuditEntry & { at: string })[] } {
  const entries: (AuditEntry & { at: string })[] = []
  return {
    entries,
    // note: entries are kept as given, unredacted, so a test can assert its caller passed no secrets.
    record: (entry) => { entries.push({ ...entry, at: new Date(now()).toISOString() }) },
    close: () => {},
  }
}

const jwtPattern = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/
const apiKeyPattern = /(?<![A-Za-z0-9])sk-/
const codePattern = /^[a-z0-9_]{1,64}$/

/** Tells whether a string could be an email, an API key, a JWT or free text, none of which the log may hold. */
function isHarmless(value: string): boolean {
  return value.length <= 200 && !value.includes('@') && !apiKeyPattern.test(value) && !jwtPattern.test(value)
}

function isHarmlessValue(value: unknown): boolean {
  return value === null || typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && isHarmless(value))
}

function isCode(value: string): boolean {
  return codePattern.test(value)
}

/** Builds the JSON object for one line, dropping every value that fails its check. */
function toAuditLine(entry: AuditEntry, at: string): Record<string, unknown> {
  const line: Record<string, unknown> = { at, event: entry.event }
  let isRedacted = false
  const fields: [string, unknown, (value: string) => boolean][] = [
    ['actor_id', entry.actorId, isHarmless],
    ['target_id', entry.targetId, isHarmless],
    ['ip', entry.ip, isHarmless],
    ['reason', entry.reason, isCode],
    ['method', entry.method, isCode],
  ]
  for (const [key, value, isAllowed] of fields) {
    if (value === undefined || value === null) continue
    if (typeof value === 'string' && isAllowed(value)) line[key] = value
    else isRedacted = true
  }
  if (entry.details !== undefined && entry.details !== null) {
    const details: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(entry.details)) {
      if (isHarmless(key) && isHarmlessValue(value)) details[key] = value
      else isRedacted = true
    }
    line.details = details
  }
  if (isRedacted) line.redacted = true
  return line
}

/** Shifts audit.log.N to .N+1 (overwriting the oldest) and audit.log to .1. */
function rotateFiles(path: string, keepFiles: number): void {
  for (let n = keepFiles - 1; n >= 1; n--) {
    if (existsSync(`${path}.${n}`)) renameSync(`${path}.${n}`, `${path}.${n + 1}`)
  }
  renameSync(path, `${path}.1`)
  chmodSync(`${path}.1`, 0o600)
}

function reportToStderr(path: string): (error: unknown) => void {
  const log = createLogger('ERROR')
  return (error) => log.error('audit log entry lost', { path, error: error instanceof Error ? error.message : String(error) })
}
