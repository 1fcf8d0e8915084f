/**
 * The chat screen: the model picker and chat settings, the messages (the path to the chat's
 * selected leaf, then any answer streaming in), and the message box. Regenerate and retry ask for
 * a new answer beside the earlier ones, edit sends a new version of a question; ‹ 2/3 › switches
 * between versions. The chat keeps its id and URL throughout.
 */
import { signal } from '@preact/signals'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import { MessageFiles } from './attachments.tsx'
import { CitationDialog, Citations, sourcesOf, type Source } from './citations.tsx'
import { Composer } from './composer.tsx'
import { describeError } from './api.ts'
import { ChatSettingsForm, summariseSettings } from './chat-settings.tsx'
import {
  chatError, chatLoading, lives, newChatSettings, openChat, pendingSend, regenerate, saveChatSettings, sendError, sendMessage, showVersion, socketOpen,
  socketReconnecting, stopAnswer, type Live, type OpenChat, type PendingSend,
} from './conversation.ts'
import { describeUsage, pathTo, siblingIdsOf, type MessageMap } from './message-tree.ts'
import { ChevronLeft, ChevronRight, Pencil, RefreshCw, SlidersHorizontal } from './icons.ts'
import { CopyButton, Markdown, StreamingMarkdown } from './message-view.tsx'
import { models, modelsLoaded, selectedModel } from './models.ts'
import { defaultChatSettings, lastModel } from './preferences.ts'
import { NoModelsNotice } from './no-models.tsx'
import { plainTitle } from './plain-title.ts'
import { config, mayChat, user } from './session.ts'
import { lastAnswerText } from './shortcuts.ts'
import type { StoredMessage } from './types.ts'

export function ModelPicker() {
  const list = models.value
  if (!modelsLoaded.value) return <span class="muted">Loading models…</span>
  if (list.length === 0) {
    return <NoModelsNotice />
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

/** ‹ 2/3 ›: the message's versions (its siblings), when it has more than one. */
function Versions({ messages, message, isBusy }: { messages: MessageMap; message: StoredMessage; isBusy: boolean }) {
  const ids = siblingIdsOf(messages, message)
  if (ids.length < 2) return null
  const at = ids.indexOf(message.id)
  return (
    <span class="versions" role="group" aria-label="Versions">
      <button type="button" class="icon" aria-label="Previous version" disabled={isBusy || at <= 0} onClick={() => showVersion(ids[at - 1]!)}><ChevronLeft size={16} /></button>
      <span class="muted small">{at + 1}/{ids.length}</span>
      <button type="button" class="icon" aria-label="Next version" disabled={isBusy || at >= ids.length - 1} onClick={() => showVersion(ids[at + 1]!)}><ChevronRight size={16} /></button>
    </span>
  )
}

function UserMessage({ message, messages, model, isBusy }: { message: StoredMessage | { content: string }; messages: MessageMap; model: string | null; isBusy: boolean }) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(message.content)
  const stored = 'id' in message ? message : null
  if (editing && stored !== null) {
    return (
      <article class="message user editing" aria-label="Edit your message">
        <label class="offscreen" for={`edit-${stored.id}`}>Edit message</label>
        <textarea id={`edit-${stored.id}`} value={draft} rows={4} onInput={(event) => setDraft(event.currentTarget.value)}
          onKeyDown={(event) => { if (event.key === 'Escape') setEditing(false) }} />
        <div class="row end">
          <button type="button" class="secondary" onClick={() => setEditing(false)}>Cancel</button>
          <button type="button" disabled={draft.trim() === '' || model === null || isBusy} onClick={() => {
            setEditing(false)
            // note: the edited question is a new version beside the old one, under the same parent.
            sendMessage(draft.trim(), model!, openChat.value?.id ?? null, stored.parentId)
          }}>Save and send</button>
        </div>
      </article>
    )
  }
  return (
    <article class="message user" aria-label="You said">
      <div class="bubble">{stored !== null && <MessageFiles files={stored.files} />}<Markdown text={message.content} /></div>
      <div class="actions">
        {stored !== null && <Versions messages={messages} message={stored} isBusy={isBusy} />}
        <CopyButton text={message.content} />
        {stored !== null && mayChat('edit') && <button type="button" class="icon" aria-label="Edit" title="Edit" disabled={isBusy} onClick={() => { setDraft(message.content); setEditing(true) }}><Pencil size={16} /></button>}
      </div>
    </article>
  )
}

/** How a stored answer ended, when not whole: stopped, failed, or cut off (the server stopped mid-answer). */
function endingOf(message: StoredMessage): { status: 'cancelled' | 'error' | 'cut'; text: string } | null {
  if (message.done !== false) return null
  if (message.cancelled === true) return { status: 'cancelled', text: 'Stopped.' }
  const error = message.error?.content
  if (typeof error === 'string' && error !== '') return { status: 'error', text: error }
  return { status: 'cut', text: 'This answer was cut off before it finished.' }
}

/**
 * The citation open in the chat, by the answer's stored id: an answer that finished here shows its
 * citations from chat:done and is then replaced by the stored message, which keeps the dialog open.
 */
const openCitation = signal<{ messageId: string; index: number } | null>(null)

/** An answer's citations under it, and the dialog of the one chosen. */
function AnswerCitations({ messageId, sources }: { messageId: string; sources: Source[] }) {
  const open = openCitation.value
  const index = open?.messageId === messageId ? open.index : null
  const shown = index === null ? undefined : sources[index - 1]
  return (
    <>
      <Citations sources={sources} onOpen={(chosen) => (openCitation.value = { messageId, index: chosen })} />
      {shown !== undefined && <CitationDialog source={shown} index={index!} onClose={() => (openCitation.value = null)} />}
    </>
  )
}

const citeIn = (messageId: string) => (index: number) => (openCitation.value = { messageId, index })

function AssistantMessage({ message, messages, onRegenerate, isBusy }: { message: StoredMessage; messages: MessageMap; onRegenerate: (() => void) | null; isBusy: boolean }) {
  const ending = endingOf(message)
  const stats = describeUsage(message.usage)
  const sources = sourcesOf(message.sources)
  const onCite = useMemo(() => citeIn(message.id), [message.id])
  return (
    <article class="message assistant" aria-label={`Answer from ${message.model ?? 'the model'}`} data-status={ending?.status}>
      {message.model != null && <p class="model-name">{message.model}</p>}
      <Markdown text={message.content} citations={sources.length} onCite={onCite} />
      <AnswerCitations messageId={message.id} sources={sources} />
      {ending !== null && <p class={ending.status === 'error' ? 'alert inline ending' : 'muted ending'}>{ending.text}</p>}
      <div class="actions">
        <Versions messages={messages} message={message} isBusy={isBusy} />
        <CopyButton text={message.content} />
        {onRegenerate !== null && <button type="button" class="icon" aria-label="Regenerate" title="Regenerate" disabled={isBusy} onClick={onRegenerate}><RefreshCw size={16} /></button>}
        {stats !== null && <span class="stats" aria-label={`Answer statistics: ${stats}`}>{stats}</span>}
      </div>
    </article>
  )
}

function LiveAnswer({ live, onRetry }: { live: Live; onRetry: (() => void) | null }) {
  const status = live.status.value
  const sources = sourcesOf(live.sources.value)
  const citedId = live.storedId ?? live.messageId
  const onCite = useMemo(() => citeIn(citedId), [citedId])
  return (
    <article class="message assistant" aria-label={`Answer from ${live.model}`} aria-busy={status === 'streaming'} data-live={status}>
      <p class="model-name">{live.model}</p>
      <StreamingMarkdown text={live.text} live={status === 'streaming'} citations={sources.length} onCite={onCite} />
      <AnswerCitations messageId={citedId} sources={sources} />
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

/** The chat's system prompt and parameters: a summary when set, and the panel that edits them. */
function ChatSettingsPanel({ chat }: { chat: OpenChat | null }) {
  const [isOpen, setOpen] = useState(false)
  const settings = chat?.settings ?? newChatSettings.value ?? defaultChatSettings.value
  const summary = summariseSettings(settings)
  return (
    <>
      {summary !== null && <span class="muted small settings-summary" title={settings.system ?? undefined}>{summary}</span>}
      <button type="button" class="secondary small" aria-expanded={isOpen} aria-controls="chat-settings" onClick={() => setOpen(!isOpen)}><SlidersHorizontal size={16} />Chat settings</button>
      {isOpen && (
        <section id="chat-settings" class="chat-settings" aria-label="Chat settings">
          <ChatSettingsForm key={chat?.id ?? 'new'} settings={settings} idPrefix="chat" saveLabel="Save chat settings" onSave={async (changed) => {
            try {
              await saveChatSettings(changed)
            } catch (error) {
              throw new Error(describeError(error))
            }
          }} />
        </section>
      )}
    </>
  )
}

/** What the chat shows: the stored path, and the question and answer of a turn under way. */
function visibleTurn(chat: OpenChat | null, live: Live | null, pending: PendingSend | null): { path: StoredMessage[]; question: string | null } {
  const messages = chat?.messages ?? {}
  if (pending !== null) {
    const after = pending.parentId === undefined ? chat?.currentId ?? null : pending.parentId
    return { path: pathTo(messages, after), question: pending.content }
  }
  if (live !== null && messages[live.parentId] !== undefined) return { path: pathTo(messages, live.parentId), question: null }
  if (live !== null && live.userContent !== null) return { path: pathTo(messages, live.afterId), question: live.userContent }
  return { path: pathTo(messages, chat?.currentId ?? null), question: null }
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

  const live = chatLives.at(-1) ?? null
  const { path: stored, question } = visibleTurn(chat, live, pending !== null && pending.chatId === shownId ? pending : null)
  const messages = chat?.messages ?? {}
  const from = windowStart.chatId === shownId ? Math.min(windowStart.from, Math.max(0, stored.length - FIRST_WINDOW)) : Math.max(0, stored.length - FIRST_WINDOW)
  const lastAssistant = stored.findLastIndex((message) => message.role === 'assistant')
  const lastUser = stored.findLastIndex((message) => message.role === 'user')

  const askAgainFromLastUser = () => {
    if (lastUser >= 0 && model !== null) regenerate(stored[lastUser]!.id, model)
  }

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      // note: an Escape that closes a dialog or the composer's picker is not meant to stop the answer.
      if (event.key === 'Escape' && isStreaming && !event.defaultPrevented && document.querySelector('dialog[open]') === null) stopAnswer()
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
    // note: when the latest messages do not fill the screen there is nothing to scroll, so add more now;
    // a list not laid out (no height) measures 0 <= 0 every render and would add the whole chat.
    if (list.clientHeight > 0 && list.scrollHeight <= list.clientHeight) showEarlier(list)
  })
  useLayoutEffect(() => {
    stickToBottom.current = true
    // note: the benchmark reads this mark: the frame after an opened chat's messages are in the DOM.
    if (chat !== null && chat.currentId !== null) requestAnimationFrame(() => performance.mark('enclave:chat-rendered'))
  }, [chat?.id])

  /** Adds earlier messages above the ones shown, keeping what the reader sees in place. */
  const showEarlier = (list: HTMLDivElement) => {
    if (from === 0 || keepScrollFrom.current !== null) return
    keepScrollFrom.current = list.scrollHeight
    setWindowStart({ chatId: shownId, from: Math.max(0, from - WINDOW_STEP) })
  }
  useEffect(() => {
    const name = config.value?.name ?? 'Enclave'
    document.title = chat === null ? name : `${plainTitle(chat.title)} · ${name}`
  }, [chat?.title])
  const lastStoredAnswer = lastAssistant >= 0 ? stored[lastAssistant]!.content : null
  const lastText = live !== null && live.status.value !== 'streaming' && pending === null ? live.text.value : lastStoredAnswer
  useEffect(() => {
    lastAnswerText.value = lastText
    return () => void (lastAnswerText.value = null)
  }, [lastText])

  const onScroll = () => {
    const list = listRef.current
    if (list === null) return
    stickToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 80
    if (list.scrollTop < 600) showEarlier(list)
  }

  const isEmpty = stored.length === 0 && live === null && pending === null
  return (
    <section class="chat" aria-label="Chat">
      <header class="chat-header">
        <h1 class="chat-title">{chat === null ? (chatId === null ? 'New chat' : '') : plainTitle(chat.title)}</h1>
        <ModelPicker />
        <ChatSettingsPanel chat={chat} />
        {!socketOpen.value && <span class="muted" role="status">{socketReconnecting.value ? 'Reconnecting…' : 'Connecting…'}</span>}
      </header>
      <p class="offscreen" role="status">{isStreaming ? 'The answer is arriving.' : pending !== null ? 'Sending.' : ''}</p>
      <div class="messages" ref={listRef} onScroll={onScroll}>
        {chatLoading.value && <p class="muted center" role="status">Loading chat…</p>}
        {chatError.value !== null && <p class="alert" role="alert">{chatError.value}</p>}
        {isEmpty && !chatLoading.value && chatError.value === null && (
          models.value.length === 0 && modelsLoaded.value && user.value?.role === 'admin' ? <NoModelsNotice full /> :
          <div class="empty"><h2>How can I help?</h2><p class="muted">Answers come from your own models; chats are stored encrypted.</p></div>
        )}
        {from > 0 && <p class="earlier muted small">Scroll up for earlier messages</p>}
        {stored.slice(from).map((message, offset) => {
          const index = from + offset
          if (message.role === 'user') return <UserMessage key={message.id} message={message} messages={messages} model={model} isBusy={isBusy} />
          if (message.role !== 'assistant') return null
          const mayRegenerate = index === lastAssistant && lastAssistant > lastUser && live === null && model !== null && message.parentId !== null
          return <AssistantMessage key={message.id} message={message} messages={messages} isBusy={isBusy} onRegenerate={mayRegenerate ? () => regenerate(message.parentId!, model!) : null} />
        })}
        {question !== null && <UserMessage key={`q-${live?.messageId ?? 'pending'}`} message={{ content: question }} messages={messages} model={model} isBusy />}
        {live !== null && pending === null && (
          <LiveAnswer key={live.messageId} live={live} onRetry={live.status.value === 'error' && model !== null ? () => regenerate(live.parentId, model) : null} />
        )}
        {pending !== null && pending.chatId === shownId && <p class="muted typing" role="status">Sending…</p>}
        {sendError.value !== null && <p class="alert" role="alert">{sendError.value}</p>}
        {!isBusy && live === null && lastUser > lastAssistant && lastUser >= 0 && model !== null && (
          <div class="alert" role="status"><p>This question has no answer.</p><button type="button" onClick={askAgainFromLastUser}>Retry</button></div>
        )}
      </div>
      <Composer isStreaming={isStreaming} canSend={model !== null && !isBusy} onStop={stopAnswer}
        onSend={(content) => sendMessage(content, model!, shownId)} />
    </section>
  )
}
