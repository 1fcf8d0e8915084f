#!/usr/bin/env bun
/** Enclave's entry point: argv to one command, nothing else. */
import { checkHealth } from './cli/healthcheck.ts'
import { installService } from './cli/install-service.ts'
import { runLifecycleCommand } from './cli/lifecycle.ts'
import { isLifecycleCommand } from './cli/parse-lifecycle-args.ts'
import { parseArgs } from './cli/parse-args.ts'
import { renderConfig } from './cli/print-config.ts'
import { serve } from './cli/serve.ts'
import { formatUsageError, USAGE } from './cli/usage.ts'
import { loadConfig, readDotenvFile } from './config/load-config.ts'
import { describeUnknownVariables } from './config/unknown-variables.ts'
import { createLogger } from './log/logger.ts'
import { COMMIT, VERSION } from './version.ts'

async function main(argv: string[]): Promise<number> {
  // install-service has its own flags (paths for the unit), so it reads its arguments itself.
  if (argv[0] === 'install-service') return installService(argv.slice(1), { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) })
  if (isLifecycleCommand(argv)) return runLifecycleCommand(argv)
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
      process.stdout.write(renderConfig(config))
      const { warnings, notice } = describeUnknownVariables(config.unknownVariables)
      for (const line of [...warnings, ...(notice === null ? [] : [notice])]) process.stderr.write(`${line}\n`)
      return 0
    }
    case 'healthcheck': {
      const health = await checkHealth(config)
      if (!health.ok) process.stderr.write(`enclave healthcheck: ${health.problem}\n`)
      return health.ok ? 0 : 1
    }
    case 'serve': {
      const log = createLogger(config.logLevel)
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
  const known = ['ConfigError', 'KeyMaterialError', 'KeyMismatchError', 'SchemaTooNewError', 'FieldOpenError', 'ListenError', 'DataDirAccessError', 'LostDatabaseError', 'DataDirLockedError']
  return known.includes(error.name) ? error.message : `${error.name}: ${error.message}`
}
