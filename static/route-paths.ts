/** The page's routes and the paths that name them. */
export type Route =
  | { name: 'chat'; chatId: string | null }
  /** A chat kept only in this page (never stored on the server). */
  | { name: 'temporary' }
  /** Settings or Admin; `section` is the section's id, null for the first one. */
  | { name: 'settings'; section: string | null }
  | { name: 'admin'; section: string | null }
  | { name: 'auth' }
  | { name: 'workspace-models' }
  | { name: 'workspace-prompts' }

const SECTION = '([a-z0-9][a-z0-9-]{0,39})'

/** Reads a path such as /c/abc or /settings/appearance into a route; anything unknown is a new chat. */
export function parseRoute(path: string): Route {
  const chat = /^\/c\/([A-Za-z0-9_-]{1,64})$/.exec(path)
  if (chat !== null) return { name: 'chat', chatId: chat[1]! }
  const page = new RegExp(`^/(settings|admin)(?:/${SECTION})?$`).exec(path)
  if (page !== null) return { name: page[1] as 'settings' | 'admin', section: page[2] ?? null }
  if (path === '/temporary') return { name: 'temporary' }
  if (path === '/auth') return { name: 'auth' }
  if (path === '/workspace/models') return { name: 'workspace-models' }
  if (path === '/workspace/prompts') return { name: 'workspace-prompts' }
  return { name: 'chat', chatId: null }
}
