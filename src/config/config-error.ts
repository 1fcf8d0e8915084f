/** One problem with one setting: which variable, the value given, and what was expected. */
export type ConfigProblem = { variable: string; value: string; expected: string }

/** Thrown by loadConfig with every problem found, so an operator fixes them all in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(describeProblem).join('\n'))
    this.name = 'ConfigError'
  }
}

/** Formats a problem as `PORT="80a": expected an integer from 1 to 65535`. */
export function describeProblem({ variable, value, expected }: ConfigProblem): string {
  return `${variable}=${JSON.stringify(value)}: expected ${expected}`
}
