import type { ConfigProblem } from './config-error.ts'

export type DotenvResult = { values: Record<string, string>; problems: ConfigProblem[] }

const assignment = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/s // s: U+2028 inside a value is text

/**
 * Parses the text of a .env file: `KEY=value`, `export KEY=value`, '#' comments, and values in
 * single quotes (literal) or double quotes (with \n, \t, \", \\ escapes). A line that is none of
 * these is reported by its number, never by its content, since it may hold a secret.
 */
export function parseDotenv(source: string, fileName = '.env'): DotenvResult {
  const values: Record<string, string> = {}
  const problems: ConfigProblem[] = []
  source.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const match = assignment.exec(trimmed)
    const value = match === null ? null : parseValue(match[2] ?? '')
    if (match === null || value === null) {
      problems.push({ variable: `${fileName} line ${index + 1}`, value: '', expected: 'KEY=VALUE, with a quoted value closed on the same line' })
      return
    }
    values[match[1]!] = value
  })
  return { values, problems }
}

function parseValue(raw: string): string | null {
  if (raw.startsWith("'")) {
    const end = raw.indexOf("'", 1)
    return end === -1 || !isOnlyComment(raw.slice(end + 1)) ? null : raw.slice(1, end)
  }
  if (raw.startsWith('"')) return parseDoubleQuoted(raw)
  return stripInlineComment(raw).trim()
}

// note: a linear scan, not /\s+#.*$/, which backtracks quadratically on long runs of spaces.
function stripInlineComment(raw: string): string {
  for (let i = raw.indexOf('#'); i !== -1; i = raw.indexOf('#', i + 1)) {
    if (i > 0 && /\s/.test(raw[i - 1]!)) return raw.slice(0, i)
  }
  return raw
}

function parseDoubleQuoted(raw: string): string | null {
  let out = ''
  for (let i = 1; i < raw.length; i++) {
    const char = raw[i]!
    if (char === '"') return isOnlyComment(raw.slice(i + 1)) ? out : null
    if (char !== '\\') {
      out += char
      continue
    }
    const next = raw[++i]
    out += next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : (next ?? '')
  }
  return null
}

function isOnlyComment(rest: string): boolean {
  return rest.trim() === '' || rest.trim().startsWith('#')
}
