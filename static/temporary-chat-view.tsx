/**
 * The temporary chat screen: the same message box and rendering as a stored chat, a notice that
 * nothing is stored, and the conversation in this page's memory only (temporary-conversation.ts).
 * Leaving the screen ends the chat.
 */
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks'
import { Composer } from './composer.tsx'
import { MessageSquareDashed } from './icons.ts'
import { describeUsage } from './message-tree.ts'
import { CopyButton, Markdown } from './message-view.tsx'
import { selectedModel } from './models.ts'
import { lastAnswerText } from './shortcuts.ts'
import { endTemporaryChat, isTemporaryStreaming, sendTemporary, stopTemporary, temporaryMessages, type TemporaryMessage } from './temporary-conversation.ts'
import { ModelPicker } from './chat-view.tsx'
import { config } from './session.ts'

function TemporaryAnswer({ message }: { message: TemporaryMessage }) {
  const stats = describeUsage(message.usage)
  return (
    <article class="message assistant" aria-label={`Answer from ${message.model ?? 'the model'}`} aria-busy={message.status === 'streaming'} data-live={message.status}>
      <p class="model-name">{message.model}</p>
      <Markdown text={message.content} live={message.status === 'streaming'} />
      {message.status === 'streaming' && message.content === '' && <p class="muted typing" role="status">Thinking…</p>}
      {message.status === 'stopped' && <p class="muted ending">Stopped.</p>}
      {message.status === 'error' && <p class="alert" role="alert">{message.error ?? 'The model failed to answer.'}</p>}
      {message.status !== 'streaming' && message.status !== 'error' && (
        <div class="actions">
          <CopyButton text={message.content} />
          {stats !== null && <span class="stats" aria-label={`Answer statistics: ${stats}`}>{stats}</span>}
        </div>
      )}
    </article>
  )
}

export function TemporaryChatView() {
  const messages = temporaryMessages.value
  const isStreaming = isTemporaryStreaming()
  const model = selectedModel.value
  const listRef = useRef<HTMLDivElement>(null)
  useEffect(() => {
    document.title = `Temporary chat · ${config.value?.name ?? 'Enclave'}`
    // note: leaving the screen ends the chat: nothing of it is kept anywhere.
    return () => endTemporaryChat()
  }, [])
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.shiftKey && isTemporaryStreaming()) stopTemporary()
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [])
  const last = messages.at(-1)
  const lastText = last?.role === 'assistant' && last.status !== 'streaming' ? last.content : null
  useEffect(() => {
    lastAnswerText.value = lastText
    return () => void (lastAnswerText.value = null)
  }, [lastText])
  useLayoutEffect(() => {
    const list = listRef.current
    if (list !== null) list.scrollTo({ top: list.scrollHeight, behavior: 'instant' })
  })
  return (
    <section class="chat temporary" aria-label="Temporary chat">
      <header class="chat-header">
        <h1 class="chat-title"><MessageSquareDashed size={18} />Temporary chat</h1>
        <ModelPicker />
      </header>
      <p class="temporary-notice" role="note">Temporary chat: not stored on the server. It ends when you leave this page or reload it.</p>
      <p class="offscreen" role="status">{isStreaming ? 'The answer is arriving.' : ''}</p>
      <div class="messages" ref={listRef}>
        {messages.length === 0 && (
          <div class="empty"><h2>A chat that leaves no trace</h2><p class="muted">Nothing you ask here is saved: not in your history, not in the database.</p></div>
        )}
        {messages.map((message, index) => message.role === 'user'
          ? <article key={index} class="message user" aria-label="You said"><div class="bubble"><Markdown text={message.content} /></div></article>
          : <TemporaryAnswer key={index} message={message} />)}
      </div>
      <Composer isStreaming={isStreaming} canSend={model !== null && !isStreaming} onStop={stopTemporary}
        onSend={(content) => {
          if (model === null) return false
          void sendTemporary(content, model)
          return true
        }} />
    </section>
  )
}
