/**
 * The open chat and the answers streaming into it. Every socket of the user gets every frame, so
 * this tab shows answers another tab asked for, too. An answer in flight is a Live entry, kept
 * (its ids) in sessionStorage, so a reload mid-answer resumes it from the first delta. When an
 * answer ends, the chat is fetched again and the stored message takes the Live's place.
 *
 * Stored messages are append-only on the server, so regenerate and edit-and-resend copy the chat
 * up to that point into a new chat, ask there, and delete the old one.
 */
import { batch, signal, type Signal } from '@preact/signals'
import { api, describeError } from './api.ts'
import { bumpChat, dropChat, retitleChat } from './chat-list.ts'
import { openChatSocket, type ChatSocket } from './chat-socket.ts'
import { navigate, route } from './router.ts'
import { forgetUser } from './session.ts'
import type { FullChat, ServerFrame, StoredMessage } from './types.ts'

export type LiveStatus = 'streaming' | 'done' | 'cancelled' | 'error'

export type Live = {
  messageId: string
  chatId: string
  userMessageId: string
  model: string
  /** The question, when this tab asked it and the stored chat may not show it yet. */
  userContent: string | null
  text: Signal<string>
  status: Signal<LiveStatus>
  error: Signal<string | null>
  next: number
  early: Map<number, string>
  awaitingResume: boolean
}

export type OpenChat = { id: string; title: string; pinned: boolean; messages: StoredMessage[] }

export const lives = signal<Live[]>([])
export const openChat = signal<OpenChat | null>(null)
export const chatLoading = signal(false)
export const chatError = signal<string | null>(null)
/** A question sent and not yet acknowledged by chat:started. */
export const pendingSend = signal<{ content: string; chatId: string | null; model: string } | null>(null)
export const sendError = signal<string | null>(null)
export const socketOpen = signal(false)
/** The socket was open and dropped (a restarted server, say): it is trying again. */
export const socketReconnecting = signal(false)

const LIVE_KEY = 'enclave.live'
let socket: ChatSocket | null = null

type SavedLive = Pick<Live, 'messageId' | 'chatId' | 'userMessageId' | 'model'>

function saveLives(): void {
  const saved: SavedLive[] = lives.value.filter((live) => live.status.value === 'streaming')
    .map(({ messageId, chatId, userMessageId, model }) => ({ messageId, chatId, userMessageId, model }))
  try {
    if (saved.length === 0) sessionStorage.removeItem(LIVE_KEY)
    else sessionStorage.setItem(LIVE_KEY, JSON.stringify(saved))
  } catch {
    // note: without storage a reload cannot resume; the answer is still stored on the server.
  }
}

function restoreLives(): Live[] {
  try {
    const saved = JSON.parse(sessionStorage.getItem(LIVE_KEY) ?? '[]') as SavedLive[]
    if (!Array.isArray(saved)) return []
    return saved.filter((entry) => typeof entry?.messageId === 'string' && typeof entry.chatId === 'string')
      .map((entry) => newLive({ ...entry, userMessageId: String(entry.userMessageId), model: String(entry.model) }, null, true))
  } catch {
    return []
  }
}

function newLive(ids: SavedLive, userContent: string | null, awaitingResume: boolean): Live {
  return { ...ids, userContent, text: signal(''), status: signal('streaming'), error: signal(null), next: 0, early: new Map(), awaitingResume }
}

const findLive = (messageId: string) => lives.value.find((live) => live.messageId === messageId)

/** Opens the socket for the signed-in user and resumes answers a reload interrupted. */
export function startConversations(): void {
  if (socket !== null) return
  lives.value = restoreLives()
  let hasOpened = false
  socket = openChatSocket({
    onFrame: handleFrame,
    onOpen: () => {
      for (const live of lives.value) {
        if (live.status.value !== 'streaming') continue
        live.awaitingResume = true
        socket?.send({ type: 'chat:resume', messageId: live.messageId, index: live.next })
      }
      // note: after a drop, the server may have stored more of the open chat (a restarted server
      // ends its answers, keeping what was checkpointed), so the chat is read again, not cleared.
      if (hasOpened) void refreshOpenChat()
      hasOpened = true
    },
    onRevoked: () => {
      stopConversations()
      forgetUser()
    },
    onStatus: (open) => batch(() => {
      socketOpen.value = open
      socketReconnecting.value = !open && hasOpened
    }),
  })
}

export function stopConversations(): void {
  socket?.close()
  socket = null
  batch(() => {
    lives.value = []
    openChat.value = null
    pendingSend.value = null
  })
}

function handleFrame(frame: ServerFrame): void {
  switch (frame.type) {
    case 'chat:started': return onStarted(frame)
    case 'chat:delta': {
      const live = findLive(frame.messageId)
      if (live === undefined) return
      live.awaitingResume = false
      if (frame.index < live.next) return
      live.early.set(frame.index, frame.content)
      let added = ''
      while (live.early.has(live.next)) {
        added += live.early.get(live.next)
        live.early.delete(live.next)
        live.next += 1
      }
      if (added !== '') live.text.value += added
      return
    }
    case 'chat:done':
    case 'chat:error': {
      const live = findLive(frame.messageId)
      if (live === undefined) return
      live.awaitingResume = false
      if (frame.type === 'chat:error') {
        batch(() => {
          live.status.value = 'error'
          live.error.value = frame.message
        })
      } else live.status.value = frame.cancelled ? 'cancelled' : 'done'
      saveLives()
      void absorb(live)
      return
    }
    case 'chat:title': {
      titlesHeard.set(frame.chatId, frame.title)
      batch(() => {
        retitleChat(frame.chatId, frame.title)
        const open = openChat.value
        if (open !== null && open.id === frame.chatId) openChat.value = { ...open, title: frame.title }
      })
      return
    }
    case 'error': {
      if (frame.code === 'stream_not_found') {
        lives.value = lives.value.filter((live) => !live.awaitingResume)
        saveLives()
        // note: the answer ended while this page was away; the stored chat shows what was kept of it.
        void refreshOpenChat()
        return
      }
      if (pendingSend.value !== null) {
        batch(() => {
          sendError.value = frame.message
          pendingSend.value = null
        })
      } else sendError.value = frame.message
    }
  }
}

function onStarted(frame: Extract<ServerFrame, { type: 'chat:started' }>): void {
  if (findLive(frame.messageId) !== undefined) return
  const pending = pendingSend.value
  const isMine = pending !== null && (pending.chatId === frame.chatId || pending.chatId === null)
  const live = newLive({ messageId: frame.messageId, chatId: frame.chatId, userMessageId: String(frame.userMessageId), model: frame.model }, isMine ? pending.content : null, false)
  const now = Math.floor(Date.now() / 1000)
  batch(() => {
    lives.value = [...lives.value, live]
    if (isMine) {
      pendingSend.value = null
      if (pending.chatId === null) {
        const title = titleFrom(pending.content)
        openChat.value = { id: frame.chatId, title, pinned: false, messages: [] }
        navigate(`/c/${frame.chatId}`, true)
        bumpChat({ id: frame.chatId, title, updated_at: now, created_at: now, pinned: false, archived: false })
      }
    }
  })
  saveLives()
  const shown = openChat.value
  if (!isMine && shown?.id === frame.chatId) void refreshOpenChat()
  if (!isMine) void api<FullChat>('GET', `/api/v1/chats/${frame.chatId}`).then((chat) => bumpChat(chat), () => undefined)
  else if (shown !== null && shown.id === frame.chatId) bumpChat({ id: shown.id, title: shown.title, pinned: shown.pinned, archived: false, updated_at: now, created_at: now })
}

/** After an answer ends: fetch the chat, so the stored message replaces the live one. */
async function absorb(live: Live): Promise<void> {
  if (openChat.value?.id === live.chatId) await refreshOpenChat()
  if (live.status.value === 'error') return
  lives.value = lives.value.filter((entry) => entry !== live)
}

async function refreshOpenChat(): Promise<void> {
  const shown = openChat.value
  if (shown === null) return
  try {
    const chat = await fetchOpenChat(shown.id)
    if (openChat.value?.id === shown.id) openChat.value = chat
  } catch {
    // note: the chat may have been deleted meanwhile; what is shown stays until the next navigation.
  }
}

const toOpenChat = (chat: FullChat): OpenChat => ({ id: chat.id, title: chat.title, pinned: chat.pinned, messages: chat.chat.messages })

/**
 * Titles heard by chat:title, by chat. A fetch that was already under way when the title came
 * answers with the older one, so a title heard during the fetch wins over what it returns.
 */
const titlesHeard = new Map<string, string>()

async function fetchOpenChat(id: string): Promise<OpenChat> {
  titlesHeard.delete(id)
  const chat = toOpenChat(await api<FullChat>('GET', `/api/v1/chats/${id}`))
  const heard = titlesHeard.get(id)
  titlesHeard.delete(id)
  return heard === undefined ? chat : { ...chat, title: heard }
}

/** Shows the chat with this id (null: a new, empty chat). */
export async function showChat(id: string | null): Promise<void> {
  if (id === null) {
    batch(() => {
      openChat.value = null
      chatError.value = null
      chatLoading.value = false
    })
    return
  }
  if (openChat.value?.id === id) return
  performance.mark('enclave:chat-open')
  batch(() => {
    chatLoading.value = true
    chatError.value = null
    openChat.value = null
  })
  try {
    const chat = await fetchOpenChat(id)
    if (route.value.name === 'chat' && route.value.chatId === id) openChat.value = chat
  } catch (error) {
    chatError.value = describeError(error)
  } finally {
    chatLoading.value = false
  }
}

/** Asks `model` the question, in the open chat or a new one. */
export function sendMessage(content: string, model: string, chatId: string | null = openChat.value?.id ?? null): boolean {
  sendError.value = null
  if (socket === null || !socket.send({ type: 'chat:send', model, content, ...(chatId === null ? {} : { chatId }) })) {
    sendError.value = 'Not connected to the server yet. Try again in a moment.'
    return false
  }
  pendingSend.value = { content, chatId, model }
  return true
}

/** Stops the answer streaming into the open chat; what arrived so far is kept. */
export function stopAnswer(): void {
  const chatId = openChat.value?.id
  for (const live of lives.value) {
    if (live.chatId === chatId && live.status.value === 'streaming') socket?.send({ type: 'chat:cancel', messageId: live.messageId })
  }
}

/**
 * Asks again from the user message at `index` (of the open chat's stored messages), with
 * `content` as its text: the messages before it are copied into a new chat, the question is asked
 * there, and the old chat is deleted.
 */
export async function askAgainFrom(index: number, content: string, model: string): Promise<void> {
  const chat = openChat.value
  if (chat === null) return
  sendError.value = null
  try {
    const kept = chat.messages.slice(0, index).map(({ role, content: text, model: used, images }) => ({ role, content: text, model: used, ...(images ? { images } : {}) }))
    const created = await api<FullChat>('POST', '/api/v1/chats/new', { chat: { title: chat.title, messages: kept } })
    const copy = chat.pinned ? await api<FullChat>('POST', `/api/v1/chats/${created.id}/pin`) : created
    batch(() => {
      lives.value = lives.value.filter((live) => live.chatId !== chat.id)
      openChat.value = toOpenChat(copy)
      navigate(`/c/${copy.id}`, true)
    })
    saveLives()
    sendMessage(content, model, copy.id)
    await api('DELETE', `/api/v1/chats/${chat.id}`).catch(() => undefined)
    dropChat(chat.id)
    bumpChat(copy)
  } catch (error) {
    sendError.value = describeError(error)
  }
}

function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]?.trim() ?? ''
  return line === '' ? 'New Chat' : line.slice(0, 80)
}
