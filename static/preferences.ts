/** Settings kept in this browser: theme, default model and the last model picked. */
import { effect, signal } from '@preact/signals'

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

/** True when the user asked the system for less motion. */
export const prefersReducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches
