/**
 * A whole-chat save taken as its body was sent (Open WebUI's `{chat, folder_id?}` in UTF-8), read
 * against the chat held in memory (open-webui-chat-scan.ts) and written as the plan made from it
 * (chat-save.ts, planScannedSave): the chat repository's `saveChatBytesForUser` (chats.ts), which
 * runs these two steps inside its save's transaction with the chat's held copy set aside.
 *
 * Threat: a save stored otherwise than the full read (JSON.parse, readOpenWebUiChat, saveChatForUser)
 * would store it. Invariant: each step answers null, with nothing written, whenever it cannot prove
 * its reading equals the full one (the caller then reads the body whole); the held copy read against
 * is the one chat-held-copy.ts allows, its bytes those remembered with it (heldBytesOf). Enclave's own
 * fields of a rewritten message (stats, artifacts), which Open WebUI's clients never see, stay as held.
 */
import { planScannedSave } from './chat-save.ts'
import type { OpenedChat } from './chat-history-cache.ts'
import type { ChatContent, Message } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import type { ChatId, MessageId } from './ids.ts'
import { hasSameClientFields, type MessageRows } from './message-rows.ts'
import type { HeldChatBytes } from './held-chat-bytes.ts'
import { resentFrom, scanOpenWebUiSave, type ScannedSave } from './open-webui-chat-scan.ts'

/** A save's body as sent, and what to make of the content read from it (saveChatBytesForUser). */
export class SavedBody {
  constructor(readonly bytes: Uint8Array, readonly prepare: (content: ChatContent) => ChatContent) {}
}

/** A body read against the held chat's bytes: what saveChatForUser would be given (`content`), and the messages as scanned. */
export type ScannedBody = { content: ChatContent; scanned: ScannedSave }

/** Reads the body against `heldBytes` (the held chat's answer bytes); null when it can only be read whole. */
export function readSavedBody(body: SavedBody, heldBytes: HeldChatBytes): ScannedBody | null {
  const scanned = scanOpenWebUiSave(body.bytes, heldBytes)
  if (scanned === null) return null
  return { scanned, content: body.prepare(scanned.folderId === undefined ? scanned.content : { ...scanned.content, folderId: scanned.folderId }) }
}

/** What a scanned save wrote of the messages: those rewritten (as stored) and removed, and the leaf it selects. */
export type ScannedWrite = { rewritten: Message[]; removed: MessageId[]; currentId: MessageId | null }

/**
 * Removes and rewrites the chat's message rows as the scanned save says (none is new); null, with
 * nothing written, when the plan cannot be made from the scan. Call inside the save's transaction.
 */
export async function writeScannedMessages(rows: MessageRows, seq: number, chatId: ChatId, held: OpenedChat, heldBytes: HeldChatBytes, scanned: ScannedSave,
  currentId: MessageId | null, at: number, ring: KeyRing): Promise<ScannedWrite | null> {
  const list = held.list()
  const plan = planScannedSave(chatId, list, currentId, scanned.changed, scanned.left, scanned.currentUid, resentFrom(heldBytes), at, hasSameClientFields)
  if (plan === null) return null
  for (const id of plan.removes) await rows.remove(seq, id)
  const rewritten = plan.rewrites.map((message) => {
    const old = held.get(message.id)!
    return { ...message, stats: old.stats, artifacts: old.artifacts }
  })
  for (const message of rewritten) await rows.rewrite(seq, message, ring)
  return { rewritten, removed: plan.removes, currentId: plan.currentId }
}
