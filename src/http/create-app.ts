/**
 * The app built at once (tests, benches): prepareApp's parts and build (prepare-app.ts), with the
 * route plugins of app-routes.ts imported as they are. `enclave serve` builds the same app after its
 * port opened, a step at a time (cli/serve.ts, app-build.ts).
 * Threat: none added; the app is the one a start builds.
 */
import * as appRoutes from './app-routes.ts'
import { prepareApp, type App, type Deps } from './prepare-app.ts'

export { prepareApp, uploadBodyLimits, type App, type AppRoutes, type Deps, type PreparedApp, type RouteParts } from './prepare-app.ts'
export { appRoutes }

/** The table of contents of the server, built at once: plugins first, then routes, then the UI (tests, benches). */
export function createApp(deps: Deps): App {
  const prepared = prepareApp(deps)
  for (const _ of prepared.readyTurn()) continue
  const slices = prepared.build(appRoutes)
  let slice = slices.next()
  while (slice.done !== true) slice = slices.next()
  prepared.built(slice.value)
  return slice.value
}
