/** The page's few routes, kept in the address bar with the History API. */
import { signal } from '@preact/signals'

export type Route =
  | { name: 'chat'; chatId: string | null }
  | { name: 'settings' }
  | { name: 'admin' }
  | { name: 'auth' }

/** Reads a path such as /c/abc into a route; anything unknown is a new chat. */
export function parseRoute(path: string): Route {
  const chat = /^\/c\/([A-Za-z0-9_-]{1,64})$/.exec(path)
  if (chat !== null) return { name: 'chat', chatId: chat[1]! }
  if (path === '/settings') return { name: 'settings' }
  if (path === '/admin') return { name: 'admin' }
  if (path === '/auth') return { name: 'auth' }
  return { name: 'chat', chatId: null }
}

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
