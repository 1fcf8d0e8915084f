#!/usr/bin/env bun
/**
 * Enclave's entry point: argv to one command, nothing else. Each command's module is imported when
 * that command runs (`import()`, kept lazy in the compiled binary too), so a start evaluates only
 * the code of the command it runs: `serve` never loads the importers, backup or key rotation.
 */
import { isLifecycleCommand } from './cli/parse-lifecycle-args.ts'
import { parseArgs } from './cli/parse-args.ts'
import { formatUsageError, USAGE } from './cli/usage.ts'
import { loadConfig, readDotenvFile } from './config/load-config.ts'
import { describeUnknownVariables } from './config/unknown-variables.ts'
import { createLogger } from './log/logger.ts'
import { COMMIT, VERSION } from './version.ts'

async function main(argv: string[]): Promise<number> {
  // install-service has its own flags (paths for the unit), so it reads its arguments itself.
  if (argv[0] === 'install-service') {
    const { installService } = await import('./cli/install-service.ts')
    return installService(argv.slice(1), { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) })
  }
  if (argv[0] === 'users' && argv[1] === 'reset-mfa') return (await import('./cli/users-reset-mfa.ts')).resetSecondFactorsFromCli(argv.slice(2), { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) })
  if (isLifecycleCommand(argv)) return (await import('./cli/lifecycle.ts')).runLifecycleCommand(argv)
  const parsed = parseArgs(argv)
  if (!parsed.ok) {
    process.stderr.write(formatUsageError(parsed.problem))
    return 2
  }
  if (parsed.command === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  if (parsed.command === 'version') {
    process.stdout.write(`enclave ${VERSION} (commit ${COMMIT})\n`)
    return 0
  }

  const config = loadConfig({ flags: parsed.flags, env: process.env, dotenv: readDotenvFile(process.cwd()), cwd: process.cwd() })
  switch (parsed.command) {
    case 'config': {
      const { renderConfig } = await import('./cli/print-config.ts')
      process.stdout.write(renderConfig(config))
      const { warnings, notice } = describeUnknownVariables(config.unknownVariables)
      for (const line of [...warnings, ...(notice === null ? [] : [notice])]) process.stderr.write(`${line}\n`)
      return 0
    }
    case 'healthcheck': {
      const { checkHealth } = await import('./cli/healthcheck.ts')
      const health = await checkHealth(config)
      if (!health.ok) process.stderr.write(`enclave healthcheck: ${health.problem}\n`)
      return health.ok ? 0 : 1
    }
    case 'serve': {
      const log = createLogger(config.logLevel)
      const { serve } = await import('./cli/serve.ts')
      const starting = serve(config, log)
      // note: handlers go in before the server says it listens, so an early signal still stops it cleanly.
      const stopAndExit = (signal: string) => void starting.then((server) => server.stop(signal)).then(() => process.exit(0))
      process.once('SIGTERM', () => stopAndExit('SIGTERM'))
      process.once('SIGINT', () => stopAndExit('SIGINT'))
      await starting
      return new Promise<number>(() => {})
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`enclave: cannot start: ${describeStartFailure(error)}\n`)
    process.exit(1)
  },
)

function describeStartFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  // Config, key, schema, listen, data directory and lock errors carry messages written for operators; others show their name only.
  const known = ['ConfigError', 'KeyMaterialError', 'KeyMismatchError', 'SchemaTooNewError', 'FieldOpenError', 'ListenError', 'DataDirAccessError', 'LostDatabaseError', 'DataDirLockedError', 'PostgresStartError']
  return known.includes(error.name) ? error.message : `${error.name}: ${error.message}`
}
