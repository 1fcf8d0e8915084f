/** The keyboard shortcuts, listed in a dialog opened with `?` (or from the user menu). */
import { useEffect, useRef } from 'preact/hooks'
import { X } from './icons.ts'
import { keyLabel, shortcuts, shortcutsOpen } from './shortcuts.ts'

export function ShortcutsDialog() {
  const ref = useRef<HTMLDialogElement>(null)
  const isOpen = shortcutsOpen.value
  useEffect(() => {
    const dialog = ref.current
    if (dialog === null) return
    if (isOpen && !dialog.open) dialog.showModal()
    if (!isOpen && dialog.open) dialog.close()
  }, [isOpen])
  return (
    <dialog ref={ref} class="shortcuts-dialog" aria-labelledby="shortcuts-heading" onClose={() => (shortcutsOpen.value = false)}
      onClick={(event) => { if (event.target === ref.current) shortcutsOpen.value = false }}>
      <div class="dialog-header">
        <h2 id="shortcuts-heading">Keyboard shortcuts</h2>
        <button type="button" class="icon" aria-label="Close" onClick={() => (shortcutsOpen.value = false)}><X size={18} /></button>
      </div>
      <table class="shortcut-list">
        <tbody>
          {shortcuts.map((shortcut) => (
            <tr key={shortcut.label}>
              <th scope="row">{shortcut.label}</th>
              <td>{shortcut.keys.map((key, i) => <>{i > 0 && <span class="plus" aria-hidden="true">+</span>}<kbd>{keyLabel(key)}</kbd></>)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </dialog>
  )
}
