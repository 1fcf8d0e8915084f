/**
 * Switching a chat's branch: a client selects the leaf the chat shows (Open WebUI's ‹ 2/3 ›), and
 * every socket of the user hears `chat:current`, so a second tab follows. Also announces a
 * selection that moved otherwise (a whole-chat save, a deleted message).
 */
import type { ChatRepo } from '../db/chats.ts'
import { parseChatId, type ChatId, type UserId } from '../db/ids.ts'
import type { ServerFrame } from './frames.ts'
import type { SocketHub } from './socket-hub.ts'

/** Selects the message the client calls `messageUid` in the owner's chat and tells their sockets; says why not otherwise. */
export async function selectBranch(chats: ChatRepo, hub: SocketHub, owner: UserId, rawChatId: string, messageUid: string): Promise<'ok' | 'chat_not_found' | 'message_not_found'> {
  const chatId = parseChatId(rawChatId)
  if (chatId === null || (await chats.findChatForUser(owner, chatId)) === null) return 'chat_not_found'
  const messageId = await chats.findMessageIdByUid(owner, chatId, messageUid)
  if (messageId === null || !(await chats.setCurrentMessage(owner, chatId, messageId))) return 'message_not_found'
  announceCurrent(hub, owner, chatId, messageUid)
  return 'ok'
}

/** Tells every socket of the owner which leaf the chat now shows (null: none). */
export function announceCurrent(hub: SocketHub, owner: UserId, chatId: ChatId, currentUid: string | null): void {
  hub.publish(owner, { type: 'chat:current', chatId, currentId: currentUid } satisfies ServerFrame)
}
