/** A short message that confirms an action done without a visible change (a copy by shortcut), read out by screen readers. */
import { signal } from '@preact/signals'

const shown = signal<{ text: string; id: number } | null>(null)
let next = 0

/** Shows `text` for two seconds. */
export function showToast(text: string): void {
  const id = ++next
  shown.value = { text, id }
  setTimeout(() => {
    if (shown.value?.id === id) shown.value = null
  }, 2000)
}

export function Toast() {
  return <div class="toast-region" role="status" aria-live="polite">{shown.value !== null && <p class="toast">{shown.value.text}</p>}</div>
}
