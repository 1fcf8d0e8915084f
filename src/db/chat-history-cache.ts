/**
 * Decrypted chats held in memory, so a turn, a save or a read of a chat in use opens only what is
 * new instead of every message again. An entry is one whole chat (every message of every branch,
 * opened, in id order), filled on first use and kept current by the chat repository's own writes
 * (chats.ts), which apply each committed change to it, or drop it when they cannot.
 *
 * Threat: plaintext of a deleted, revoked or re-keyed user outliving what allowed it. An entry is
 * used only while all of these hold, else it is dropped:
 * - the owner's key ring is the very one it was opened with (data-keys.ts makes a new ring on a
 *   key rotation step, a destroyed version and a destroyed owner), so nothing is served after a
 *   data key rotation began or the keys went;
 * - no `access` notice came about the owner (sign-out everywhere, a revoked session or key, a role
 *   change, the user deleted; the master key changed: everyone) and no `chats` notice (a chat
 *   deleted, by the user or by retention), each of which drops the owner's entries at once;
 * - it was used within `idleMs`;
 * - no other connection wrote to the database since (chats.ts checks SQLite's data_version).
 * Bounds: at most `maxBytesPerUser` per owner and `maxBytes` in all (an estimate: four bytes a
 * character, the message and its JSON text, plus a fixed cost per message), least recently used dropped first; a chat larger than
 * an owner's bound is never held. Entries are per owner: a lookup names the owner, chat id and seq.
 */
import type { AccountChanges } from './account-changes.ts'
import type { Message } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'

export type HistoryCacheLimits = { maxBytes: number; maxBytesPerUser: number; idleMs: number }

export const DEFAULT_HISTORY_CACHE_LIMITS: HistoryCacheLimits = { maxBytes: 128 * 1024 * 1024, maxBytesPerUser: 32 * 1024 * 1024, idleMs: 10 * 60_000 }

/** What the cache holds now. */
export type HistoryCacheSize = { chats: number; messages: number; bytes: number }

/** A load under way: `stale` once something changed what it reads. */
type Loading = { seq: number; owner: UserId; chatId: ChatId; ring: KeyRing; stale: boolean; waiters: number; done: Promise<Message[]> }

type Entry = {
  owner: UserId; chatId: ChatId; ring: KeyRing; byId: Map<MessageId, Message>; bytes: number; usedAt: number; lastId: number; isSorted: boolean
  /** Counts the writes applied, so what was made from the messages before one is not used after it. */
  version: number
  kept: { version: number; value: unknown } | null
}

/**
 * An opened chat: its messages by id, and in id order. Shared and frozen: never change them.
 * `remembered` gives back what `remember` kept from these very messages (undefined after any
 * write, and always for a chat not held): a value made from them, such as their JSON.
 */
export type OpenedChat = { get(id: MessageId): Message | undefined; list(): readonly Message[]; remembered(): unknown; remember(value: unknown): void }

/** A place in the cache: the chat row's seq, its id and owner (all three must match). */
export type CachedChatKey = { seq: number; chatId: ChatId; owner: UserId }

// note: the object and its fields, plus ~100 bytes for its entries in the held answer bytes' index
// (held-history-index.ts: its place by id and its client id).
const MESSAGE_OVERHEAD_BYTES = 420

/** An estimate of the memory a held message takes, with its JSON text, plus a fixed cost. */
function bytesOf(message: Message): number {
  let chars = message.content.length + message.uid.length + (message.model?.length ?? 0)
  if (message.images !== null) for (const image of message.images) chars += typeof image === 'string' ? image.length : 64
  for (const field of [message.artifacts, message.stats, message.error, message.usage, message.sources, message.files, message.extra]) {
    if (field !== null) chars += JSON.stringify(field).length
  }
  // note: twice two bytes a character: the message, and its JSON text kept while it is held (open-webui-message-description.ts).
  return MESSAGE_OVERHEAD_BYTES + 4 * chars
}

/**
 * A written message as opening its row gives it back: its JSON fields copied through JSON (so a
 * caller's later change to its arrays can't reach the cache, and -0 or an undefined key reads as stored).
 */
function asStored(message: Message): Message {
  const copy = { ...message }
  for (const name of JSON_FIELDS) if (copy[name] !== null) (copy as Record<string, unknown>)[name] = JSON.parse(JSON.stringify(copy[name]))
  return copy
}

const JSON_FIELDS = ['images', 'artifacts', 'stats', 'error', 'usage', 'sources', 'files', 'extra'] as const

/** A view of messages opened but not held: nothing is remembered for it. */
export function unheld(messages: Message[]): OpenedChat {
  // note: the index by id is made at the first `get`: a whole read (listMessagesInChat) only lists, and made
  // eagerly it was 2% of the CPU of reading a 1,000-message chat too large to hold.
  let byId: Map<MessageId, Message> | undefined
  return {
    get: (id) => (byId ??= new Map(messages.map((message) => [message.id, message]))).get(id),
    list: () => messages, remembered: () => undefined, remember: () => undefined,
  }
}

export function createChatHistoryCache(changes: AccountChanges, now: () => number, limits: HistoryCacheLimits = DEFAULT_HISTORY_CACHE_LIMITS) {
  /** By chat seq, least recently used first. */
  const entries = new Map<number, Entry>()
  const bytesByOwner = new Map<UserId, number>()
  let totalBytes = 0

  const drop = (seq: number) => {
    const entry = entries.get(seq)
    if (entry === undefined) return
    entries.delete(seq)
    totalBytes -= entry.bytes
    const left = (bytesByOwner.get(entry.owner) ?? 0) - entry.bytes
    if (left <= 0) bytesByOwner.delete(entry.owner)
    else bytesByOwner.set(entry.owner, left)
  }
  const dropOwner = (owner: UserId) => {
    for (const [seq, entry] of entries) if (entry.owner === owner) drop(seq)
  }
  const resize = (entry: Entry, delta: number) => {
    entry.bytes += delta
    totalBytes += delta
    bytesByOwner.set(entry.owner, (bytesByOwner.get(entry.owner) ?? 0) + delta)
  }
  /** Drops the least recently used entries until the bounds hold, never `keep`'s. */
  const enforceBounds = (owner: UserId, keep: number | null) => {
    for (const [seq, entry] of entries) {
      if (totalBytes <= limits.maxBytes && (bytesByOwner.get(owner) ?? 0) <= limits.maxBytesPerUser) return
      if (seq === keep) continue
      if (totalBytes > limits.maxBytes || entry.owner === owner) drop(seq)
    }
  }

  /** Loads under way (openChat): one per chat shared by whoever asks meanwhile, marked stale by any change to what it reads. */
  const loading = new Map<number, Loading>()
  const active = new Set<Loading>()
  const staleLoads = (matches: (load: Loading) => boolean) => {
    for (const load of active) {
      if (!matches(load)) continue
      load.stale = true
      if (loading.get(load.seq) === load) loading.delete(load.seq)
    }
  }

  const clear = () => {
    entries.clear()
    bytesByOwner.clear()
    totalBytes = 0
    staleLoads(() => true)
  }
  const forgetOwner = (owner: UserId) => {
    dropOwner(owner)
    staleLoads((load) => load.owner === owner)
  }
  changes.subscribe((change) => (change.userId === null ? clear() : forgetOwner(change.userId)))

  /** Holds a chat just opened, when it fits the bounds; its view either way. */
  function hold(key: CachedChatKey, ring: KeyRing, messages: Message[]): OpenedChat {
    let bytes = 0
    for (const message of messages) bytes += bytesOf(Object.freeze(message))
    if (bytes > limits.maxBytesPerUser || bytes > limits.maxBytes) return unheld(messages)
    const byId = new Map(messages.map((message) => [message.id, message]))
    const fresh: Entry = { owner: key.owner, chatId: key.chatId, ring, byId, bytes: 0, usedAt: now(), lastId: messages.at(-1)?.id ?? 0, isSorted: true, version: 0, kept: null }
    entries.set(key.seq, fresh)
    resize(fresh, bytes)
    enforceBounds(key.owner, key.seq)
    return viewOf(fresh)
  }

  /** The live entry at `key`, touched; undefined (and dropped when stale) otherwise. */
  function live(key: CachedChatKey, ring: KeyRing): Entry | undefined {
    sweepIdle()
    const entry = entries.get(key.seq)
    if (entry === undefined) return undefined
    if (entry.owner !== key.owner || entry.chatId !== key.chatId || entry.ring !== ring) {
      drop(key.seq)
      return undefined
    }
    entry.usedAt = now()
    entries.delete(key.seq)
    entries.set(key.seq, entry)
    return entry
  }

  function viewOf(entry: Entry): OpenedChat {
    return {
      get: (id) => entry.byId.get(id),
      list() {
        if (!entry.isSorted) {
          entry.byId = new Map([...entry.byId.values()].sort((a, b) => a.id - b.id).map((message) => [message.id, message]))
          entry.isSorted = true
        }
        return [...entry.byId.values()]
      },
      remembered: () => (entry.kept !== null && entry.kept.version === entry.version ? entry.kept.value : undefined),
      remember(value) {
        entry.kept = { version: entry.version, value }
      },
    }
  }

  /** Drops every entry not used within the idle time. */
  function sweepIdle(): void {
    const cutoff = now() - limits.idleMs
    for (const [seq, entry] of entries) {
      if (entry.usedAt > cutoff) return // note: least recently used first, so the rest are newer
      drop(seq)
    }
  }

  return {
    /** The chat, opened with `open` (every message, in id order) when it is not held; held afterwards when it fits the bounds. */
    chatOf(key: CachedChatKey, ring: KeyRing, open: () => Message[]): OpenedChat {
      const entry = live(key, ring)
      if (entry !== undefined) return viewOf(entry)
      return hold(key, ring, open())
    },

    /**
     * The chat, loaded with `load` (every message, in id order, read after any write already
     * reported committed) when it is not held. Whoever asks while a load is under way shares it. A
     * load is held only when nothing changed the chat or its owner while it ran (a write noted, the
     * chat or owner forgotten, an account notice): a load that raced a write may have read the rows
     * before or after it, so it is served to its callers and not kept.
     */
    async openChat(key: CachedChatKey, ring: KeyRing, load: () => Promise<Message[]>): Promise<OpenedChat> {
      const entry = live(key, ring)
      if (entry !== undefined) return viewOf(entry)
      let pending = loading.get(key.seq)
      if (pending === undefined || pending.owner !== key.owner || pending.chatId !== key.chatId || pending.ring !== ring) {
        pending = { seq: key.seq, owner: key.owner, chatId: key.chatId, ring, stale: false, waiters: 0, done: load() }
        loading.set(key.seq, pending)
        active.add(pending)
      }
      const mine = pending
      mine.waiters++
      let messages: Message[]
      try {
        messages = await mine.done
      } finally {
        if (--mine.waiters === 0) active.delete(mine)
        if (loading.get(key.seq) === mine) loading.delete(key.seq)
      }
      if (mine.stale) return unheld(messages)
      // note: another caller of the same load may have held it already, and writes since then updated that entry.
      const held = live(key, ring)
      return held === undefined ? hold(key, ring, messages) : viewOf(held)
    },

    /** The chat when it is held now; null otherwise (nothing is opened). */
    heldChat(key: CachedChatKey, ring: KeyRing): OpenedChat | null {
      const entry = live(key, ring)
      return entry === undefined ? null : viewOf(entry)
    },

    /** Applies a committed write to the chat, when it is held: messages stored (new or rewritten) and removed. */
    noteWritten(key: CachedChatKey, ring: KeyRing, stored: readonly Message[], removed: readonly MessageId[] = []): void {
      staleLoads((load) => load.seq === key.seq)
      const entry = live(key, ring)
      if (entry === undefined) return
      let delta = 0
      entry.version++
      entry.kept = null
      for (const id of removed) {
        const old = entry.byId.get(id)
        if (old === undefined) continue
        entry.byId.delete(id)
        delta -= bytesOf(old)
      }
      for (const message of stored) {
        const old = entry.byId.get(message.id)
        if (old !== undefined) delta -= bytesOf(old)
        else if (message.id < entry.lastId) entry.isSorted = false
        else entry.lastId = message.id
        entry.byId.set(message.id, Object.freeze(asStored(message)))
        delta += bytesOf(message)
      }
      resize(entry, delta)
      if (entry.bytes > limits.maxBytesPerUser) drop(key.seq)
      else enforceBounds(key.owner, key.seq)
    },

    /** Drops the chat, when a write could not be applied (a rollback may follow, or it changed too much). */
    forgetChat(seq: number): void {
      drop(seq)
      staleLoads((load) => load.seq === seq)
    },

    /** Drops the chat with this id wherever it is held, and any load of it under way: another instance wrote it. */
    forgetChatById(chatId: ChatId): void {
      for (const [seq, entry] of entries) if (entry.chatId === chatId) drop(seq)
      staleLoads((load) => load.chatId === chatId)
    },

    /** Drops every chat of the owner. */
    forgetOwner,

    /** Drops every chat: another connection wrote to the database. */
    clear,

    /** Drops every chat not used within the idle time; call now and then (reads sweep too). */
    sweepIdle,

    /** How many chats, messages and (estimated) bytes are held now. */
    size(): HistoryCacheSize {
      let messages = 0
      for (const entry of entries.values()) messages += entry.byId.size
      return { chats: entries.size, messages, bytes: totalBytes }
    },
  }
}

export type ChatHistoryCache = ReturnType<typeof createChatHistoryCache>
