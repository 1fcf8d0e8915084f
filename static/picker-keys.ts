/**
 * The keys of the composer's pickers (`/` prompts, `#` files): Up/Down move the highlight round the
 * list, Enter (without Shift) or Tab choose it, Escape closes the list for the text as it stands.
 * Returns true when the key was the picker's (the composer then leaves it alone).
 */
import type { TargetedKeyboardEvent } from 'preact'

export type PickerKeys = {
  count: number
  active: number
  setActive: (index: number) => void
  choose: (index: number) => void
  dismiss: () => void
}

export function handlePickerKey(event: TargetedKeyboardEvent<HTMLTextAreaElement>, { count, active, setActive, choose, dismiss }: PickerKeys): boolean {
  if (count === 0) return false
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault()
    setActive((active + (event.key === 'ArrowDown' ? 1 : count - 1)) % count)
    return true
  }
  if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
    event.preventDefault()
    choose(active < count ? active : 0)
    return true
  }
  if (event.key === 'Escape') {
    event.preventDefault()
    dismiss()
    return true
  }
  return false
}
