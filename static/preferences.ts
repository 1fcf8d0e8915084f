/** Settings kept in this browser: theme, default model, the last model picked, and the settings new chats start with. */
import { effect, signal } from '@preact/signals'
import type { ChatSettings } from './types.ts'

export type Theme = 'light' | 'dark' | 'system'

const read = (key: string) => {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}
const write = (key: string, value: string | null) => {
  try {
    if (value === null) localStorage.removeItem(key)
    else localStorage.setItem(key, value)
  } catch {
    // note: storage may be disabled (private mode); the choice then lasts for this page only.
  }
}

const storedTheme = read('enclave.theme')
export const theme = signal<Theme>(storedTheme === 'light' || storedTheme === 'dark' ? storedTheme : 'system')
export const defaultModel = signal<string | null>(read('enclave.defaultModel'))
export const lastModel = signal<string | null>(read('enclave.lastModel'))
/** The system prompt and parameters a new chat starts with (Settings); each chat keeps its own after. */
export const defaultChatSettings = signal<ChatSettings>(readChatSettings(read('enclave.chatDefaults')))

function readChatSettings(text: string | null): ChatSettings {
  try {
    const parsed = JSON.parse(text ?? '{}') as { system?: unknown; params?: unknown }
    const params = typeof parsed.params === 'object' && parsed.params !== null && !Array.isArray(parsed.params) ? parsed.params as Record<string, unknown> : {}
    return { system: typeof parsed.system === 'string' ? parsed.system : null, params }
  } catch {
    return { system: null, params: {} }
  }
}

const darkQuery = matchMedia('(prefers-color-scheme: dark)')
const applyTheme = () => {
  const dark = theme.value === 'dark' || (theme.value === 'system' && darkQuery.matches)
  document.documentElement.dataset.theme = dark ? 'dark' : 'light'
}
darkQuery.addEventListener('change', applyTheme)
effect(() => {
  applyTheme()
  write('enclave.theme', theme.value === 'system' ? null : theme.value)
})
effect(() => write('enclave.defaultModel', defaultModel.value))
effect(() => write('enclave.lastModel', lastModel.value))
effect(() => {
  const { system, params } = defaultChatSettings.value
  write('enclave.chatDefaults', (system ?? '') === '' && Object.keys(params).length === 0 ? null : JSON.stringify({ system, params }))
})

/** True when the user asked the system for less motion. */
export const prefersReducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches
