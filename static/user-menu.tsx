/**
 * The user menu at the foot of the sidebar: the user's initials and name; it opens onto Settings,
 * Admin (administrators only), the keyboard shortcuts and Sign out. Escape or a click elsewhere
 * closes it, and focus goes back to its button. For admins, the count of accounts waiting for
 * approval shows on its button and beside Admin (pending-badge.tsx).
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { Keyboard, LogOut, Settings, Shield } from './icons.ts'
import { leave } from './leave.ts'
import { PendingBadge, PendingCount } from './pending-badge.tsx'
import { navigate } from './router.ts'
import { user } from './session.ts'
import { shortcutsOpen } from './shortcuts.ts'

/** Up to two initials from a name ("Grace Hopper" → "GH"), else from the email. */
export function initialsOf(name: string, email: string): string {
  const words = name.trim().split(/\s+/).filter((word) => word !== '')
  const letters = words.length >= 2 ? [words[0]!, words.at(-1)!].map((word) => [...word][0]) : [...(words[0] ?? email)].slice(0, 1)
  return letters.join('').toUpperCase() || '?'
}

export function UserMenu({ onNavigate }: { onNavigate: () => void }) {
  const [isOpen, setOpen] = useState(false)
  const root = useRef<HTMLDivElement>(null)
  const button = useRef<HTMLButtonElement>(null)
  const signedIn = user.value
  useEffect(() => {
    if (!isOpen) return
    const onPointer = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false)
    }
    addEventListener('pointerdown', onPointer)
    return () => removeEventListener('pointerdown', onPointer)
  }, [isOpen])
  if (signedIn === null || signedIn === undefined) return null
  const close = (refocus: boolean) => {
    setOpen(false)
    if (refocus) button.current?.focus()
  }
  const go = (path: string) => (event: MouseEvent) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
    event.preventDefault()
    close(false)
    navigate(path)
    onNavigate()
  }
  return (
    <div class="user-menu" ref={root} onKeyDown={(event) => {
      if (event.key === 'Escape' && isOpen) {
        event.stopPropagation()
        close(true)
      }
    }}>
      {isOpen && (
        <div id="user-menu-items" class="popover" role="group" aria-label="User menu">
          <p class="popover-caption muted small">{signedIn.email}</p>
          <a href="/settings" onClick={go('/settings')} ref={(link) => link?.focus()}><Settings size={18} />Settings</a>
          {signedIn.role === 'admin' && <a href="/admin" onClick={go('/admin')}><Shield size={18} />Admin<PendingCount /></a>}
          <button type="button" onClick={() => { close(false); shortcutsOpen.value = true }}><Keyboard size={18} />Keyboard shortcuts</button>
          <button type="button" onClick={() => { close(false); void leave(false) }}><LogOut size={18} />Sign out</button>
        </div>
      )}
      <button type="button" ref={button} class="user-button" aria-label="User menu" aria-expanded={isOpen} aria-controls={isOpen ? "user-menu-items" : undefined}
        onClick={() => setOpen(!isOpen)}>
        <span class="avatar" aria-hidden="true">{initialsOf(signedIn.name, signedIn.email)}</span>
        <span class="user-name">{signedIn.name}</span>
      </button>
      {signedIn.role === 'admin' && <PendingBadge />}
    </div>
  )
}
