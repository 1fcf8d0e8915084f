import type { Config } from '../config/load-config.ts'
import { showValue } from '../config/variable.ts'
import { variables, type Variable, type VariableName } from '../config/variables.ts'

/** Renders the effective configuration, one variable per line with its source (and the name it was read under, when another product's); secrets as ***. */
export function renderConfig(config: Config): string {
  const names = Object.keys(variables) as VariableName[]
  const width = Math.max(...names.map((name) => name.length))
  return names.map((name) => {
    const variable: Variable<unknown> = variables[name]
    const value = config.values[name]
    const shown = value === null ? '(not set)' : variable.secret ? '***' : showValue(variable, value)
    const otherName = config.sourceNames[name]
    return `${name.padEnd(width)}  ${shown}  [${config.sources[name]}${otherName === undefined ? '' : ` as ${otherName}`}]`
  }).join('\n') + '\n'
}
