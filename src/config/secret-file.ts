/**
 * Secrets read from files (`*_FILE` variables, as Docker and Kubernetes mount secrets). Threat: a
 * secret file others can read is a secret shared with them, so one readable by group or others is
 * refused, naming the file and the fix, never its content.
 */
import { readFileSync, statSync } from 'node:fs'
import type { ConfigProblem } from './config-error.ts'

/** The file's content without one trailing newline (what editors and `echo` leave); null, with a problem, when unusable. */
export function readSecretFile(variable: string, file: string, problems: ConfigProblem[]): string | null {
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      problems.push({ variable, value: file, expected: `a file only its owner may read (run: chmod 600 ${file})` })
      return null
    }
    const secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '')
    if (secret.trim() !== '') return secret
    problems.push({ variable, value: file, expected: 'a file holding the secret (it is empty)' })
  } catch {
    problems.push({ variable, value: file, expected: 'a file Enclave\'s user can read' })
  }
  return null
}
