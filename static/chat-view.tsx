/**
 * The chat screen: the model picker, the messages (stored ones, then any answer streaming in), and
 * the message box. Regenerate, edit-and-resend and retry ask again from a user message.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { Composer } from './composer.tsx'
import {
  askAgainFrom, chatError, chatLoading, lives, openChat, pendingSend, sendError, sendMessage, socketOpen, socketReconnecting, stopAnswer, type Live,
} from './conversation.ts'
import { CopyButton, Markdown, StreamingMarkdown } from './message-view.tsx'
import { loadModels, models, modelsError, modelsLoaded, selectedModel } from './models.ts'
import { lastModel } from './preferences.ts'
import { config } from './session.ts'
import type { StoredMessage } from './types.ts'

function ModelPicker() {
  const list = models.value
  if (!modelsLoaded.value) return <span class="muted">Loading models…</span>
  if (list.length === 0) {
    return (
      <span class="row">
        <span class="alert inline" role="status">{modelsError.value ?? 'No models are available. An administrator can check the Ollama connection.'}</span>
        <button type="button" class="secondary small" onClick={() => void loadModels()}>Try again</button>
      </span>
    )
  }
  return (
    <label class="model-picker">
      <span class="offscreen">Model</span>
      <select value={selectedModel.value ?? ''} onChange={(event) => (lastModel.value = event.currentTarget.value)}>
        {list.map((model) => <option value={model.id}>{model.name}</option>)}
      </select>
    </label>
  )
}

function UserMessage({ message, index, model, isBusy }: { message: { content: string }; index: number | null; model: string | null; isBusy: boolean }) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(message.content)
  if (editing && index !== null) {
    return (
      <article class="message user editing" aria-label="Edit your message">
        <label class="offscreen" for={`edit-${index}`}>Edit message</label>
        <textarea id={`edit-${index}`} value={draft} rows={4} onInput={(event) => setDraft(event.currentTarget.value)}
          onKeyDown={(event) => { if (event.key === 'Escape') setEditing(false) }} />
        <div class="row end">
          <button type="button" class="secondary" onClick={() => setEditing(false)}>Cancel</button>
          <button type="button" disabled={draft.trim() === '' || model === null || isBusy} onClick={() => {
            setEditing(false)
            void askAgainFrom(index, draft.trim(), model!)
          }}>Save and send</button>
        </div>
      </article>
    )
  }
  return (
    <article class="message user" aria-label="You said">
      <div class="bubble"><Markdown text={message.content} /></div>
      <div class="actions">
        <CopyButton text={message.content} />
        {index !== null && <button type="button" class="icon" disabled={isBusy} onClick={() => { setDraft(message.content); setEditing(true) }}>Edit</button>}
      </div>
    </article>
  )
}

function AssistantMessage({ message, onRegenerate, isBusy }: { message: StoredMessage; onRegenerate: (() => void) | null; isBusy: boolean }) {
  return (
    <article class="message assistant" aria-label={`Answer from ${message.model ?? 'the model'}`}>
      <Markdown text={message.content} />
      <div class="actions">
        <CopyButton text={message.content} />
        {onRegenerate !== null && <button type="button" class="icon" disabled={isBusy} onClick={onRegenerate}>Regenerate</button>}
      </div>
    </article>
  )
}

function LiveAnswer({ live, onRetry }: { live: Live; onRetry: (() => void) | null }) {
  const status = live.status.value
  return (
    <article class="message assistant" aria-label={`Answer from ${live.model}`} aria-busy={status === 'streaming'} data-live={status}>
      <StreamingMarkdown text={live.text} />
      {status === 'streaming' && live.text.value === '' && <p class="muted typing" role="status">Thinking…</p>}
      {status === 'cancelled' && <p class="muted">Stopped.</p>}
      {status === 'error' && (
        <div class="alert" role="alert">
          <p>{live.error.value ?? 'The model failed to answer.'}</p>
          {onRetry !== null && <button type="button" onClick={onRetry}>Retry</button>}
        </div>
      )}
      {status !== 'streaming' && status !== 'error' && <div class="actions"><CopyButton text={live.text.value} /></div>}
    </article>
  )
}

/** Messages rendered at first, and added each time the reader scrolls to the top of a long chat. */
const FIRST_WINDOW = 30
const WINDOW_STEP = 60

export function ChatView({ chatId }: { chatId: string | null }) {
  const chat = openChat.value
  const shownId = chat?.id ?? null
  const chatLives = lives.value.filter((live) => live.chatId === shownId)
  const pending = pendingSend.value
  const isStreaming = chatLives.some((live) => live.status.value === 'streaming')
  const isBusy = isStreaming || pending !== null
  const model = selectedModel.value
  const listRef = useRef<HTMLDivElement>(null)
  const stickToBottom = useRef(true)
  // note: a long chat renders only its latest messages; earlier ones are added as the reader
  // scrolls up, so opening a chat of thousands costs what its last screenfuls cost.
  const [windowStart, setWindowStart] = useState({ chatId: shownId, from: Number.POSITIVE_INFINITY })
  const keepScrollFrom = useRef<number | null>(null)

  const liveParents = new Set(chatLives.map((live) => live.userMessageId))
  const stored = (chat?.messages ?? []).filter((message) => !(message.role === 'assistant' && message.parentId !== null && liveParents.has(message.parentId)))
  const from = windowStart.chatId === shownId ? Math.min(windowStart.from, Math.max(0, stored.length - FIRST_WINDOW)) : Math.max(0, stored.length - FIRST_WINDOW)
  const lastAssistant = stored.findLastIndex((message) => message.role === 'assistant')
  const lastUser = stored.findLastIndex((message) => message.role === 'user')

  const askFromLastUser = () => {
    if (lastUser >= 0 && model !== null) void askAgainFrom(lastUser, stored[lastUser]!.content, model)
  }

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && isStreaming) stopAnswer()
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [isStreaming])

  useLayoutEffect(() => {
    const list = listRef.current
    if (list === null) return
    if (keepScrollFrom.current !== null) {
      list.scrollTop += list.scrollHeight - keepScrollFrom.current
      keepScrollFrom.current = null
    } else if (stickToBottom.current) list.scrollTo({ top: list.scrollHeight, behavior: 'instant' })
    // note: when the latest messages do not fill the screen there is nothing to scroll, so add more now.
    if (list.scrollHeight <= list.clientHeight) showEarlier(list)
  })
  useLayoutEffect(() => {
    stickToBottom.current = true
    // note: the benchmark reads this mark: the frame after an opened chat's messages are in the DOM.
    if (chat !== null && chat.messages.length > 0) requestAnimationFrame(() => performance.mark('enclave:chat-rendered'))
  }, [chat?.id])

  /** Adds earlier messages above the ones shown, keeping what the reader sees in place. */
  const showEarlier = (list: HTMLDivElement) => {
    if (from === 0 || keepScrollFrom.current !== null) return
    keepScrollFrom.current = list.scrollHeight
    setWindowStart({ chatId: shownId, from: Math.max(0, from - WINDOW_STEP) })
  }
  useEffect(() => {
    const name = config.value?.name ?? 'Enclave'
    document.title = chat === null ? name : `${chat.title} · ${name}`
  }, [chat?.title])

  const onScroll = () => {
    const list = listRef.current
    if (list === null) return
    stickToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 80
    if (list.scrollTop < 600) showEarlier(list)
  }

  const isEmpty = stored.length === 0 && chatLives.length === 0 && pending === null
  return (
    <section class="chat" aria-label="Chat">
      <header class="chat-header">
        <h1 class="chat-title">{chat?.title ?? (chatId === null ? 'New chat' : '')}</h1>
        <ModelPicker />
        {!socketOpen.value && <span class="muted" role="status">{socketReconnecting.value ? 'Reconnecting…' : 'Connecting…'}</span>}
      </header>
      <p class="offscreen" role="status">{isStreaming ? 'The answer is arriving.' : pending !== null ? 'Sending.' : ''}</p>
      <div class="messages" ref={listRef} onScroll={onScroll}>
        {chatLoading.value && <p class="muted center" role="status">Loading chat…</p>}
        {chatError.value !== null && <p class="alert" role="alert">{chatError.value}</p>}
        {isEmpty && !chatLoading.value && chatError.value === null && (
          <div class="empty"><h2>How can I help?</h2><p class="muted">Answers come from your own models; chats are stored encrypted.</p></div>
        )}
        {from > 0 && <p class="earlier muted small">Scroll up for earlier messages</p>}
        {stored.slice(from).map((message, offset) => {
          const index = from + offset
          if (message.role === 'user') return <UserMessage key={message.id} message={message} index={index} model={model} isBusy={isBusy} />
          if (message.role !== 'assistant') return null
          const mayRegenerate = index === lastAssistant && lastAssistant > lastUser && chatLives.length === 0 && model !== null
          return <AssistantMessage key={message.id} message={message} isBusy={isBusy} onRegenerate={mayRegenerate ? askFromLastUser : null} />
        })}
        {chatLives.map((live) => (
          <>
            {!stored.some((message) => message.id === live.userMessageId) && live.userContent !== null && (
              <UserMessage key={`q-${live.messageId}`} message={{ content: live.userContent }} index={null} model={model} isBusy />
            )}
            <LiveAnswer key={live.messageId} live={live} onRetry={live.status.value === 'error' && lastUser >= 0 && model !== null ? askFromLastUser : null} />
          </>
        ))}
        {pending !== null && pending.chatId === shownId && (
          <>
            <UserMessage message={{ content: pending.content }} index={null} model={model} isBusy />
            <p class="muted typing" role="status">Sending…</p>
          </>
        )}
        {sendError.value !== null && <p class="alert" role="alert">{sendError.value}</p>}
        {!isBusy && chatLives.length === 0 && lastUser > lastAssistant && lastUser >= 0 && model !== null && (
          <div class="alert" role="status"><p>This question has no answer.</p><button type="button" onClick={askFromLastUser}>Retry</button></div>
        )}
      </div>
      <Composer isStreaming={isStreaming} canSend={model !== null && !isBusy} onStop={stopAnswer}
        onSend={(content) => sendMessage(content, model!, shownId)} />
    </section>
  )
}
