/**
 * Keyboard shortcuts, as Open WebUI has them: one table, read by the handler and by the `?`
 * dialog, so the list shown is the list that works. Ctrl stands for ⌘ on a Mac.
 */
import { signal } from '@preact/signals'
import { copyText } from './copy-text.ts'
import { navigate } from './router.ts'
import { showToast } from './toast.tsx'

/** The text of the answer the open chat shows last (set by the chat views), for "copy last answer". */
export const lastAnswerText = signal<string | null>(null)
/** The sidebar is shown over the page (phone width). */
export const sidebarOpen = signal(false)
/** The shortcut list's dialog is open. */
export const shortcutsOpen = signal(false)

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform)

type Shortcut = { keys: string[]; label: string; matches(event: KeyboardEvent): boolean; run?(): void }

const mod = (event: KeyboardEvent) => (isMac ? event.metaKey : event.ctrlKey) && !event.altKey
const isTyping = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))

const focusById = (id: string) => {
  const element = document.getElementById(id)
  element?.focus()
  return element !== null
}

export const shortcuts: Shortcut[] = [
  {
    keys: ['Ctrl', 'Shift', 'O'], label: 'New chat',
    matches: (event) => mod(event) && event.shiftKey && event.code === 'KeyO',
    run: () => {
      navigate('/')
      requestAnimationFrame(() => focusById('message'))
    },
  },
  {
    keys: ['Ctrl', 'K'], label: 'Search chats',
    matches: (event) => mod(event) && !event.shiftKey && event.code === 'KeyK',
    run: () => {
      sidebarOpen.value = true
      // note: on a phone the closed sidebar is hidden and cannot take the focus until it has opened.
      if (!focusById('chat-search') || document.activeElement?.id !== 'chat-search') requestAnimationFrame(() => focusById('chat-search'))
    },
  },
  { keys: ['Esc'], label: 'Stop the answer', matches: () => false },
  {
    keys: ['Shift', 'Esc'], label: 'Focus the message box',
    matches: (event) => event.shiftKey && event.key === 'Escape' && !event.ctrlKey && !event.metaKey,
    run: () => void focusById('message'),
  },
  {
    keys: ['Ctrl', 'Shift', 'C'], label: 'Copy the last answer',
    matches: (event) => mod(event) && event.shiftKey && event.code === 'KeyC',
    run: () => {
      const text = lastAnswerText.value
      if (text === null) return showToast('There is no answer to copy.')
      void copyText(text).then((copied) => showToast(copied ? 'Copied the last answer.' : 'The answer could not be copied.'))
    },
  },
  { keys: ['Enter'], label: 'Send the message', matches: () => false },
  { keys: ['Shift', 'Enter'], label: 'New line in the message', matches: () => false },
  {
    keys: ['?'], label: 'Show these shortcuts',
    matches: (event) => (event.key === '?' && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(event.target)) || (mod(event) && event.key === '/'),
    run: () => void (shortcutsOpen.value = true),
  },
]

/** Runs the shortcut the key press means, if any; installed on the window while the workspace shows. */
export function handleShortcut(event: KeyboardEvent): void {
  if (event.defaultPrevented || event.isComposing) return
  const shortcut = shortcuts.find((candidate) => candidate.run !== undefined && candidate.matches(event))
  if (shortcut === undefined) return
  event.preventDefault()
  shortcut.run!()
}

/** How a key is written in the list on this system. */
export const keyLabel = (key: string) => (key === 'Ctrl' && isMac ? '⌘' : key)
