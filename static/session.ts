/** Who is signed in and what the server offers, loaded once when the page starts. */
import { signal } from '@preact/signals'
import { api, ApiError } from './api.ts'
import type { AppConfig, SessionUser } from './types.ts'

export const config = signal<AppConfig | null>(null)
/** null: signed out; undefined: not known yet. */
export const user = signal<SessionUser | null | undefined>(undefined)
export const bootError = signal<string | null>(null)

/**
 * Whether the signed-in user may use a chat feature (`edit`, `temporary`, `export`, `delete`,
 * `share`, `file_upload`): Open WebUI's `chat.*` permissions, which its page reads from the session
 * to offer a control or not; admins always may. The server holds the ones it can (delete, upload, share).
 */
export const mayChat = (flag: string): boolean => user.value?.role === 'admin' || user.value?.permissions?.chat?.[flag] !== false

/** Loads the server's configuration and the current session, if any. */
export async function loadSession(): Promise<void> {
  try {
    const [loadedConfig, session] = await Promise.all([
      api<AppConfig>('GET', '/api/config'),
      api<SessionUser>('GET', '/api/v1/auths/').catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) return null
        throw error
      }),
    ])
    config.value = loadedConfig
    user.value = session ?? (loadedConfig.features.auth === false ? await startSingleUserSession() : null)
    if (loadedConfig.name) document.title = loadedConfig.name
  } catch {
    bootError.value = 'The server could not be reached. Reload the page to try again.'
  }
}

/** In single-user mode (no sign-in), asks the server for the one user's session; null when it refuses. */
export async function startSingleUserSession(): Promise<SessionUser | null> {
  return api<SessionUser>('POST', '/api/v1/auths/single-user').catch(() => null)
}

/** Ends this session on the server and forgets the user here. */
export async function signOut(everywhere = false): Promise<void> {
  await api('POST', everywhere ? '/api/v1/auths/signout/all' : '/api/v1/auths/signout').catch(() => undefined)
  forgetUser()
}

export function forgetUser(): void {
  sessionStorage.clear()
  user.value = null
}
