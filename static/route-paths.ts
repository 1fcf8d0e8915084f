/** The page's routes and the paths that name them. */
export type Route =
  | { name: 'chat'; chatId: string | null }
  | { name: 'settings' }
  | { name: 'admin' }
  | { name: 'auth' }
  | { name: 'workspace-models' }
  | { name: 'workspace-prompts' }

/** Reads a path such as /c/abc into a route; anything unknown is a new chat. */
export function parseRoute(path: string): Route {
  const chat = /^\/c\/([A-Za-z0-9_-]{1,64})$/.exec(path)
  if (chat !== null) return { name: 'chat', chatId: chat[1]! }
  if (path === '/settings') return { name: 'settings' }
  if (path === '/admin') return { name: 'admin' }
  if (path === '/auth') return { name: 'auth' }
  if (path === '/workspace/models') return { name: 'workspace-models' }
  if (path === '/workspace/prompts') return { name: 'workspace-prompts' }
  return { name: 'chat', chatId: null }
}
