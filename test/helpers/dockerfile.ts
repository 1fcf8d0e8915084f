/**
 * Reads a Dockerfile into stages of instructions, enough to check its invariants without a Docker
 * engine: continuation lines joined, comments dropped, exec-form (JSON) arguments parsed.
 */
export type Instruction = { keyword: string; args: string }
export type Stage = { from: string; name: string | null; instructions: Instruction[] }

export function parseDockerfile(text: string): Stage[] {
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  const stages: Stage[] = []
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    if (keyword.toUpperCase() === 'FROM') {
      const [from = '', , name = null] = args.split(/\s+/)
      stages.push({ from, name, instructions: [] })
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args })
    }
  }
  return stages
}

/** The arguments of every instruction with this keyword in the stage. */
export const argsOf = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)

/** Parses `KEY=value KEY2="value 2"` (ENV, ARG and LABEL form) into a record. */
export function parseAssignments(args: string): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [, key, quoted, plain] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=(?:"((?:[^"\\]|\\.)*)"|(\S*)))?/g)) result[key!] = quoted ?? plain ?? ''
  return result
}

/** Parses an exec-form argument list like `["enclave", "serve"]`; null for the shell form. */
export function execForm(args: string): string[] | null {
  try {
    const parsed: unknown = JSON.parse(args)
    return Array.isArray(parsed) && parsed.every((part) => typeof part === 'string') ? parsed : null
  } catch {
    return null
  }
}
