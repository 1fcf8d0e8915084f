/** A modal question with Cancel and a confirming button, on the native <dialog> (focus trapped, Esc cancels). */
import { signal } from '@preact/signals'
import { useEffect, useRef } from 'preact/hooks'

type Question = { message: string; confirmLabel: string; resolve: (answer: boolean) => void }
const question = signal<Question | null>(null)

/** Asks the user; resolves true only when they confirm. */
export function confirmAction(message: string, confirmLabel = 'Delete'): Promise<boolean> {
  return new Promise((resolve) => {
    question.value?.resolve(false)
    question.value = { message, confirmLabel, resolve }
  })
}

export function ConfirmDialog() {
  const ref = useRef<HTMLDialogElement>(null)
  const current = question.value
  useEffect(() => {
    const dialog = ref.current
    if (dialog === null) return
    if (current !== null && !dialog.open) dialog.showModal()
    if (current === null && dialog.open) dialog.close()
  }, [current])
  const answer = (value: boolean) => {
    current?.resolve(value)
    question.value = null
  }
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-message" onCancel={(event) => { event.preventDefault(); answer(false) }}>
      <p id="confirm-message">{current?.message}</p>
      <div class="row end">
        <button type="button" class="secondary" onClick={() => answer(false)}>Cancel</button>
        <button type="button" class="danger" onClick={() => answer(true)}>{current?.confirmLabel}</button>
      </div>
    </dialog>
  )
}
