import { Elysia } from 'elysia'
import type { Config } from '../config/load-config.ts'
import type { Store } from '../db/open-store.ts'
import type { Logger } from '../log/logger.ts'
import { staticAssets } from './assets.ts'
import { httpErrors } from './http-error.ts'
import { bodyLimit } from './plugins/body-limit.ts'
import { securityHeaders } from './plugins/security-headers.ts'
import { healthRoutes } from './routes/health.ts'

/** Everything the HTTP layer needs, built once by cli/serve.ts (tests build their own). */
export type Deps = {
  config: Config
  store: Store
  log: Logger
  /** Signs sessions; never logged. */
  sessionSecret: string
}

/** The table of contents of the server: plugins first, then routes, then the UI. */
export function createApp(deps: Deps) {
  return new Elysia()
    .use(httpErrors(deps.log))
    .use(securityHeaders())
    .use(bodyLimit(deps.config.maxRequestBodyBytes))
    .use(healthRoutes())
    .use(staticAssets())
}

export type App = ReturnType<typeof createApp>
