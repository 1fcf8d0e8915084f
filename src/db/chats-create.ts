/**
 * The chat repository's new chats and new messages (chats.ts): a chat inserted with its content (a
 * list of messages or a tree as a client holds it, planned by chat-save.ts), a chat started with its
 * first message, a chat copied; and one message appended under a parent, which the message writes
 * (chats-message-writes.ts) use too.
 *
 * Threat: a chat or message that is not wholly what was asked, or ids handed out twice. Each insert
 * runs in one transaction through writeMessages (chats-core.ts), its message ids taken from that
 * write's attempt; a tree the edge should have refused rejects with BadTreeError, writing nothing.
 */
import { isSaveProblem, planChatSave } from './chat-save.ts'
import type { ChatRow } from './chat-rows.ts'
import { EMPTY_SETTINGS, type Chat, type ChatContent, type Message, type NewMessage } from './chat-tree.ts'
import { allocatorOf, BadTreeError, idsNeeded } from './chat-whole-save.ts'
import type { ChatsCore } from './chats-core.ts'
import { readTree } from './chats-reads.ts'
import type { KeyRing } from './data-keys.ts'
import type { IdAttempt } from './id-blocks.ts'
import { newChatId, type ChatId, type MessageId, type UserId } from './ids.ts'

/** An id and times from elsewhere (an import), and the flags it had there. */
export type ImportedChat = { id: ChatId; createdAt: number; updatedAt: number; pinned?: boolean; archived?: boolean }

/**
 * Inserts one message under `parentId` (undefined: the chat's selected leaf) and selects it; call
 * inside a transaction. A message the server makes gets its internal id as client id, unless
 * `uidTaken` (the chat already uses that): then a random one.
 */
export async function appendMessage({ rows }: ChatsCore, ring: KeyRing, chat: Pick<ChatRow, 'seq' | 'id' | 'current_id'>, input: NewMessage, at: number, id: MessageId, uidTaken: boolean): Promise<Message> {
  const message: Message = {
    id, uid: input.uid ?? (uidTaken ? crypto.randomUUID() : String(id)), chatId: chat.id as ChatId,
    parentId: input.parentId === undefined ? chat.current_id as MessageId | null : input.parentId,
    role: input.role, model: input.model ?? null, content: input.content, images: input.images ?? null, artifacts: input.artifacts ?? null,
    stats: input.stats ?? null, status: input.status ?? null, error: input.error ?? null, usage: input.usage ?? null,
    sources: input.sources ?? null, files: input.files ?? null, extra: input.extra ?? null, createdAt: input.createdAt ?? at,
  }
  await rows.insert(chat.seq, message, ring)
  chat.current_id = id
  return message
}

/** Inserts a chat with the given content; `given` fixes its id, times and flags. Call inside writeMessages. */
async function insertChatRows({ now, keys, rows, chats }: ChatsCore, owner: UserId, content: ChatContent, ids: IdAttempt, given?: ImportedChat): Promise<{ chat: Chat; seq: number; messages: Message[]; ring: KeyRing }> {
  const id = given?.id ?? newChatId()
  const at = given?.createdAt ?? now()
  const updatedAt = given?.updatedAt ?? at
  const ring = await keys.ringFor(owner)
  const title = content.title ?? 'New Chat'
  const folderId = content.folderId ?? null
  const pinned = given?.pinned ?? false
  const archived = given?.archived ?? false
  const seq = await chats.insert({ id, userId: owner, title, pinned, archived, folderId, createdAt: at, updatedAt, settings: { ...EMPTY_SETTINGS, ...content.settings } }, ring)
  let messages: Message[] = []
  let currentId: MessageId | null = null
  if (content.messages !== undefined) {
    const plan = planChatSave(id, [], null, content.messages, allocatorOf(await ids.take(idsNeeded([], content.messages))), at, () => false)
    if (isSaveProblem(plan)) throw new BadTreeError(plan)
    await rows.insertMany(seq, plan.inserts, ring)
    await chats.select(seq, plan.currentId)
    messages = plan.inserts
    currentId = plan.currentId
  }
  return { chat: { id, userId: owner, title, pinned, archived, folderId, currentId, createdAt: at, updatedAt }, seq, messages, ring }
}

/** Creates a chat with the given content in one transaction. */
function insertChat(core: ChatsCore, owner: UserId, content: ChatContent, given?: ImportedChat): Promise<Chat> {
  const { writeMessages, afterWrite, search, announce } = core
  return writeMessages((ids) => insertChatRows(core, owner, content, ids, given), ({ chat, messages }, isNested) => {
    afterWrite(owner, isNested, () => search.noteNewChat(chat, messages.map((message) => message.content)))
    announce(owner, chat.id)
  }).then(({ chat }) => chat)
}

/** The repository's methods that create chats. */
export function createChatCreation(core: ChatsCore) {
  const { now, chats, search, writeMessages, afterWrite, announce } = core
  return {
    /**
     * Creates a chat owned by the user, with the given messages in order, each the child of the one
     * before. `imported` keeps an id and times from elsewhere (an import).
     */
    createChat(owner: UserId, title: string, messages: readonly NewMessage[] = [], imported?: ImportedChat): Promise<Chat> {
      const list = messages.map((message) => ({ ...message, uid: message.uid ?? null, createdAt: message.createdAt ?? null }))
      return insertChat(core, owner, { title, messages: { kind: 'list', messages: list } }, imported)
    },

    /**
     * Creates a chat owned by the user from a whole chat as a client holds it (a tree, its settings);
     * `imported` keeps an id, times and flags from elsewhere. Rejects with BadTreeError for a tree the
     * edge should have refused (a parent not listed before its child, an id twice).
     */
    createChatFromContent(owner: UserId, content: ChatContent, imported?: ImportedChat): Promise<Chat> {
      return insertChat(core, owner, content, imported)
    },

    /** Creates the chat `id` (from `newChatId`) with its first message, in one transaction; returns both. */
    startChat(owner: UserId, id: ChatId, title: string, first: NewMessage): Promise<{ chat: Chat; message: Message }> {
      const at = now()
      return writeMessages(async (ids) => {
        const { chat, seq, ring } = await insertChatRows(core, owner, { title }, ids, { id, createdAt: at, updatedAt: at })
        // note: the chat is new, so no message of it uses the id as client id yet.
        const message = await appendMessage(core, ring, { seq, id, current_id: null }, first, at, await ids.next() as MessageId, false)
        await chats.select(seq, message.id)
        return { chat: { ...chat, currentId: message.id }, message }
      }, (created, isNested) => {
        afterWrite(owner, isNested, () => search.noteNewChat(created.chat, [created.message.content]))
        announce(owner, id)
      })
    },

    /** Copies the owner's chat, every branch and setting, under a new id and title (not archived); null when it is not theirs. */
    async cloneChat(owner: UserId, chatId: ChatId, title: string): Promise<Chat | null> {
      const tree = await readTree(core, owner, chatId)
      if (tree === null) return null
      const uidOf = new Map(tree.messages.map((message) => [message.id, message.uid]))
      const current = tree.chat.currentId === null ? null : uidOf.get(tree.chat.currentId) ?? null
      return insertChat(core, owner, {
        // note: as Open WebUI, the copy names where it came from and the message it branched at.
        title, settings: { ...tree.settings, extra: { ...tree.settings.extra, originalChatId: chatId, branchPointMessageId: current } }, folderId: tree.chat.folderId,
        messages: {
          kind: 'tree', currentUid: current,
          messages: tree.messages.map((message) => ({ ...message, parentUid: message.parentId === null ? null : uidOf.get(message.parentId)! })),
        },
      }, { id: newChatId(), createdAt: now(), updatedAt: now(), pinned: tree.chat.pinned })
    },
  }
}
