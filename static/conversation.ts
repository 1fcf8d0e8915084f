/**
 * The open chat and the answers streaming into it. Every socket of the user gets every frame, so
 * this tab shows answers another tab asked for, too. An answer in flight is a Live entry, kept
 * (its ids) in sessionStorage, so a reload mid-answer resumes it from the first delta. When an
 * answer ends, its chat:done frame (sent to every tab, and again to a tab that resumes) carries the
 * retrieval `sources`, shown as citations at once; then the chat is fetched again and the stored
 * message takes the Live's place.
 *
 * A chat is a tree (message-tree.ts): regenerate asks for a new answer beside the earlier ones,
 * edit sends the new question beside the old one, and switching versions selects another leaf;
 * the chat keeps its id and URL. Every tab of the user follows the chat's selected leaf.
 */
import { followPullFrame } from './model-pull.ts'
import { batch, signal, type Signal } from '@preact/signals'
import { api, describeError } from './api.ts'
import { takeAttachedFiles } from './attachments.tsx'
import { bumpChat, retitleChat } from './chat-list.ts'
import { openChatSocket, type ChatSocket } from './chat-socket.ts'
import { navigate, route } from './router.ts'
import { forgetUser } from './session.ts'
import { newestLeafFrom } from './message-tree.ts'
import { defaultChatSettings } from './preferences.ts'
import type { ChatSettings, FullChat, ServerFrame, StoredMessage } from './types.ts'

export type LiveStatus = 'streaming' | 'done' | 'cancelled' | 'error'

export type Live = {
  messageId: string
  chatId: string
  /** The question the answer replies to (its id as the chat shows it). */
  parentId: string
  model: string
  /** The question, when this tab asked it and the stored chat may not show it yet. */
  userContent: string | null
  /** Where this tab put the question (its parent; null: a new root). */
  afterId: string | null
  text: Signal<string>
  status: Signal<LiveStatus>
  error: Signal<string | null>
  /** The passages retrieval gave the answer, from chat:done (Open WebUI's `sources`); empty until then. */
  sources: Signal<unknown[]>
  /** The stored answer's id, from chat:done: the message that takes this Live's place. */
  storedId: string | null
  next: number
  early: Map<number, string>
  awaitingResume: boolean
}

export type OpenChat = {
  id: string; title: string; pinned: boolean
  messages: Record<string, StoredMessage>
  /** The selected leaf: the chat shows the path from the root to it. */
  currentId: string | null
  settings: ChatSettings
}

export const lives = signal<Live[]>([])
export const openChat = signal<OpenChat | null>(null)
export const chatLoading = signal(false)
export const chatError = signal<string | null>(null)
/**
 * A question (or, with `content` null, a regenerate) sent and not yet acknowledged by chat:started;
 * `parentId` is where it goes (null: a new root; undefined: under the selected leaf).
 */
export type PendingSend = { content: string | null; chatId: string | null; model: string; parentId: string | null | undefined }
export const pendingSend = signal<PendingSend | null>(null)
/** The settings a new chat starts with (set in its settings panel before the first question). */
export const newChatSettings = signal<ChatSettings | null>(null)
export const sendError = signal<string | null>(null)
export const socketOpen = signal(false)
/** The socket was open and dropped (a restarted server, say): it is trying again. */
export const socketReconnecting = signal(false)

const LIVE_KEY = 'enclave.live'
let socket: ChatSocket | null = null

type SavedLive = Pick<Live, 'messageId' | 'chatId' | 'parentId' | 'model'>

function saveLives(): void {
  const saved: SavedLive[] = lives.value.filter((live) => live.status.value === 'streaming')
    .map(({ messageId, chatId, parentId, model }) => ({ messageId, chatId, parentId, model }))
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
      .map((entry) => newLive({ ...entry, parentId: String(entry.parentId), model: String(entry.model) }, null, null, true))
  } catch {
    return []
  }
}

function newLive(ids: SavedLive, userContent: string | null, afterId: string | null, awaitingResume: boolean): Live {
  return { ...ids, userContent, afterId, text: signal(''), status: signal('streaming'), error: signal(null), sources: signal([]), storedId: null, next: 0, early: new Map(), awaitingResume }
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
      } else {
        live.storedId = frame.storedMessageUid
        batch(() => {
          live.sources.value = Array.isArray(frame.sources) ? frame.sources : []
          live.status.value = frame.cancelled ? 'cancelled' : 'done'
        })
      }
      saveLives()
      void absorb(live)
      return
    }
    case 'chat:current': {
      const open = openChat.value
      if (open === null || open.id !== frame.chatId || open.currentId === frame.currentId) return
      if (frame.currentId === null || open.messages[frame.currentId] !== undefined) openChat.value = { ...open, currentId: frame.currentId }
      else void refreshOpenChat()
      return
    }
    case 'chat:changed': {
      // note: an answer asked for through /api/chat/completions (another client) was added or finished.
      if (openChat.value?.id === frame.chatId) void refreshOpenChat()
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
    case 'model:pull': return followPullFrame(frame)
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
  // note: a question sent under the selected leaf sits where that leaf was before the turn moved it.
  const afterId = !isMine ? null : pending.parentId === undefined ? openChat.value?.currentId ?? null : pending.parentId
  const live = newLive({ messageId: frame.messageId, chatId: frame.chatId, parentId: frame.parentId, model: frame.model }, isMine ? pending.content : null, afterId, false)
  const now = Math.floor(Date.now() / 1000)
  batch(() => {
    // note: a finished answer still shown (an error) gives way to the new one in its chat.
    lives.value = [...lives.value.filter((entry) => entry.chatId !== frame.chatId || entry.status.value === 'streaming'), live]
    const open = openChat.value
    if (open !== null && open.id === frame.chatId && open.messages[frame.currentId] !== undefined) openChat.value = { ...open, currentId: frame.currentId }
    if (isMine) {
      pendingSend.value = null
      if (pending.chatId === null) {
        const title = titleFrom(pending.content ?? '')
        openChat.value = { id: frame.chatId, title, pinned: false, messages: {}, currentId: null, settings: newChatSettings.value ?? defaultChatSettings.value }
        newChatSettings.value = null
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

const toOpenChat = (chat: FullChat): OpenChat => ({
  id: chat.id, title: chat.title, pinned: chat.pinned, messages: chat.chat.history.messages, currentId: chat.chat.history.currentId,
  settings: { system: chat.chat.system ?? null, params: chat.chat.params ?? {} },
})

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
      newChatSettings.value = null
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

/** The settings a question in a new chat carries: those set for it, else the user's defaults. */
function settingsForNewChat(): { system?: string; options?: Record<string, unknown> } {
  const settings = newChatSettings.value ?? defaultChatSettings.value
  return {
    ...(settings.system === null || settings.system === '' ? {} : { system: settings.system }),
    ...(Object.keys(settings.params).length === 0 ? {} : { options: settings.params }),
  }
}

/** Sends a turn frame and notes it as pending; false when the socket cannot take it. */
function sendTurn(frame: object, pending: PendingSend): boolean {
  sendError.value = null
  if (socket === null || !socket.send(frame)) {
    sendError.value = 'Not connected to the server yet. Try again in a moment.'
    return false
  }
  batch(() => {
    // note: an answer that failed gives way to the next turn in its chat.
    lives.value = lives.value.filter((live) => live.chatId !== pending.chatId || live.status.value === 'streaming')
    pendingSend.value = pending
  })
  return true
}

/**
 * Asks `model` the question, in the open chat or a new one; `parentId` puts it under that message
 * (null: a new root, as editing the first question does; undefined: under the selected leaf).
 */
export function sendMessage(content: string, model: string, chatId: string | null = openChat.value?.id ?? null, parentId?: string | null): boolean {
  const where = chatId === null ? settingsForNewChat() : { chatId, ...(parentId === undefined ? {} : { parentId }) }
  const files = takeAttachedFiles()
  return sendTurn({ type: 'chat:send', model, content, ...where, ...(files.length > 0 ? { files } : {}) }, { content, chatId, model, parentId })
}

/** Asks `model` again for an answer to the open chat's question `questionId`, beside the earlier answers. */
export function regenerate(questionId: string, model: string): boolean {
  const chat = openChat.value
  if (chat === null) return false
  return sendTurn({ type: 'chat:regenerate', chatId: chat.id, parentId: questionId, model }, { content: null, chatId: chat.id, model, parentId: questionId })
}

/** Shows another version of a message: the chat selects the newest leaf under it, here and in every tab. */
export function showVersion(messageId: string): void {
  const chat = openChat.value
  if (chat === null || chat.messages[messageId] === undefined) return
  const leaf = newestLeafFrom(chat.messages, messageId)
  batch(() => {
    lives.value = lives.value.filter((live) => live.chatId !== chat.id || live.status.value === 'streaming')
    openChat.value = { ...chat, currentId: leaf }
  })
  socket?.send({ type: 'chat:select', chatId: chat.id, messageId: leaf })
}

/** Stores the open chat's system prompt and parameters (a new chat keeps them for its first question). */
export async function saveChatSettings(settings: ChatSettings): Promise<void> {
  const chat = openChat.value
  if (chat === null) {
    newChatSettings.value = settings
    return
  }
  const saved = await api<FullChat>('POST', `/api/v1/chats/${chat.id}`, { chat: { system: settings.system ?? '', params: settings.params } })
  const open = openChat.value
  if (open?.id === chat.id) openChat.value = { ...open, settings: toOpenChat(saved).settings }
}

/** Stops the answer streaming into the open chat; what arrived so far is kept. */
export function stopAnswer(): void {
  const chatId = openChat.value?.id
  for (const live of lives.value) {
    if (live.chatId === chatId && live.status.value === 'streaming') socket?.send({ type: 'chat:cancel', messageId: live.messageId })
  }
}

function titleFrom(content: string): string {
  const line = content.trim().split('\n')[0]?.trim() ?? ''
  return line === '' ? 'New Chat' : line.slice(0, 80)
}
