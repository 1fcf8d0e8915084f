/**
 * The message box: Enter sends, Shift+Enter starts a new line, Esc stops the answer; `/` picks a
 * saved prompt, `#` a knowledge base or document to ask about. It takes the
 * focus on load only where there is a keyboard (a fine pointer): on a phone that would open the
 * on-screen keyboard over the chat.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { ArrowUp, CircleStop } from './icons.ts'
import { usePromptPicker } from './prompt-picker.tsx'
import { useFilePicker } from './file-picker.tsx'
import { AttachButton, attachmentEvents, AttachmentTray, isUploading } from './attachments.tsx'
import { mayChat } from './session.ts'

export function Composer({ isStreaming, canSend, onSend, onStop }: { isStreaming: boolean; canSend: boolean; onSend: (text: string) => boolean; onStop: () => void }) {
  const [text, setText] = useState('')
  const ref = useRef<HTMLTextAreaElement>(null)
  const prompts = usePromptPicker(text, setText)
  // note: `/` and `#` never open together: each needs its own character right before the word being typed.
  const references = useFilePicker(text, setText)
  useEffect(() => {
    const area = ref.current
    if (area === null) return
    area.style.height = 'auto'
    area.style.height = `${Math.min(area.scrollHeight, 240)}px`
  }, [text])
  useEffect(() => {
    if (!matchMedia('(pointer: coarse)').matches) ref.current?.focus()
  }, [])
  useLayoutEffect(() => {
    // note: the benchmark reads this mark: the chat screen is interactive once a message can be sent.
    if (canSend && performance.getEntriesByName('enclave:interactive').length === 0) performance.mark('enclave:interactive')
  }, [canSend])
  const send = () => {
    const content = text.trim()
    if (content === '' || !canSend || isStreaming || isUploading()) return
    if (onSend(content)) setText('')
  }
  return (
    <form class="composer" data-ready={canSend && !isStreaming ? '' : undefined} onSubmit={(event) => { event.preventDefault(); send() }} onDragOver={attachmentEvents.onDragOver} onDrop={attachmentEvents.onDrop}>
      {prompts.view}
      {references.view}
      <AttachmentTray />
      {mayChat('file_upload') && <AttachButton disabled={!canSend} />}
      <label for="message" class="offscreen">Message</label>
      <span id="message-keys" class="offscreen">Enter sends, Shift+Enter starts a new line, Escape stops the answer.</span>
      <textarea
        id="message"
        ref={ref}
        rows={1}
        value={text}
        placeholder="Send a message"
        aria-describedby="message-keys"
        aria-autocomplete="list"
        aria-controls={references.view !== null ? 'file-picker' : prompts.view !== null ? 'prompt-picker' : undefined}
        aria-activedescendant={references.activeId ?? prompts.activeId ?? undefined}
        maxLength={200_000}
        onInput={(event) => setText(event.currentTarget.value)}
        onPaste={attachmentEvents.onPaste}
        onKeyDown={(event) => {
          if (prompts.onKeyDown(event) || references.onKeyDown(event)) return
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault()
            send()
          } else if (event.key === 'Escape' && isStreaming) {
            event.preventDefault()
            onStop()
          }
        }}
      />
      {isStreaming
        ? <button type="button" class="stop round" aria-label="Stop" title="Stop (Esc)" onClick={onStop}><CircleStop size={20} /></button>
        : <button type="submit" class="round" aria-label="Send" title="Send (Enter)" disabled={!canSend || text.trim() === ''}><ArrowUp size={20} /></button>}
    </form>
  )
}
