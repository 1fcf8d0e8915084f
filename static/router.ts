/** The page's few routes, kept in the address bar with the History API. */
import { signal } from '@preact/signals'
import { parseRoute, type Route } from './route-paths.ts'

export type { Route } from './route-paths.ts'

// note: Open WebUI links a temporary chat as /?temporary-chat=true; such a link opens ours.
if (location.pathname === '/' && new URLSearchParams(location.search).get('temporary-chat') === 'true') history.replaceState(null, '', '/temporary')

export const route = signal<Route>(parseRoute(location.pathname))

/** Goes to `path`, adding a history entry unless `replace`. */
export function navigate(path: string, replace = false): void {
  if (path !== location.pathname + location.search) {
    if (replace) history.replaceState(null, '', path)
    else history.pushState(null, '', path)
  }
  route.value = parseRoute(location.pathname)
}

addEventListener('popstate', () => {
  route.value = parseRoute(location.pathname)
})
