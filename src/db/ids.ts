/**
 * Branded ids, so a user id can't be passed where a chat id belongs. Users and chats have random
 * UUIDs (as Open WebUI); messages have integers that only grow, so rows pack densely on disk and a
 * deleted message's id is never handed out again.
 */
export type UserId = string & { readonly brand: 'UserId' }
export type ChatId = string & { readonly brand: 'ChatId' }
export type MessageId = number & { readonly brand: 'MessageId' }

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export const newUserId = (): UserId => crypto.randomUUID() as UserId
export const newChatId = (): ChatId => crypto.randomUUID() as ChatId

/** Reads a user id from outside input, or null when it can't be one. */
export function parseUserId(raw: string): UserId | null {
  return uuidPattern.test(raw) ? (raw as UserId) : null
}

/** Reads a chat id from outside input, or null when it can't be one. */
export function parseChatId(raw: string): ChatId | null {
  return uuidPattern.test(raw) ? (raw as ChatId) : null
}
