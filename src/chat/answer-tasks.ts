/**
 * Answers running for Open WebUI's task API (/api/tasks/...): each answer asked for through
 * /api/chat/completions with a `chat_id` is a task, with an id its user can list per chat and
 * stop. Threat: a task id is a handle on someone's request to Ollama, so every lookup names the
 * owner; another user's task id is not found, the same as an unknown one. A deleted chat stops its
 * tasks (`stopTasksInGoneChats`), so Ollama is not kept answering into nothing.
 */
import type { ChatId, UserId } from '../db/ids.ts'

/** One running answer; `signal` aborts the request to Ollama when the task is stopped. */
export type AnswerTask = { readonly id: string; readonly userId: UserId; readonly chatId: ChatId; readonly signal: AbortSignal }

type Entry = AnswerTask & { controller: AbortController }

/** A class because it is state with an identity: one registry per server. */
export class AnswerTasks {
  readonly #entries = new Map<string, Entry>()

  /**
   * Registers a running answer of the user in the chat; `id` continues a task that ended (the
   * work after an answer, under the id its client was given), a new one otherwise.
   */
  start(userId: UserId, chatId: ChatId, id: string = crypto.randomUUID()): AnswerTask {
    const controller = new AbortController()
    const entry: Entry = { id, userId, chatId, signal: controller.signal, controller }
    this.#entries.set(entry.id, entry)
    return entry
  }

  /** Forgets a task that ended. */
  end(task: AnswerTask): void {
    this.#entries.delete(task.id)
  }

  /** Stops the user's task; false when it is unknown, ended or someone else's. */
  stop(userId: UserId, taskId: string): boolean {
    const entry = this.#entries.get(taskId)
    if (entry === undefined || entry.userId !== userId) return false
    entry.controller.abort('cancelled')
    return true
  }

  /** Stops the user's tasks whose chat `isChatGone` says was deleted; returns how many. */
  stopTasksInGoneChats(userId: UserId, isChatGone: (chatId: ChatId) => boolean): number {
    let stopped = 0
    for (const entry of this.#entries.values()) {
      if (entry.userId !== userId || !isChatGone(entry.chatId)) continue
      entry.controller.abort('chat_deleted')
      stopped += 1
    }
    return stopped
  }

  /** The chats where the user has an answer running (one per task). */
  listChatIdsOfUser(userId: UserId): ChatId[] {
    return [...this.#entries.values()].filter((entry) => entry.userId === userId).map((entry) => entry.chatId)
  }

  /** The ids of every task of the user. */
  listTaskIdsOfUser(userId: UserId): string[] {
    return [...this.#entries.values()].filter((entry) => entry.userId === userId).map((entry) => entry.id)
  }

  /** Of `chatIds`, those where the user has an answer running. */
  findActiveChats(userId: UserId, chatIds: readonly string[]): string[] {
    const active = new Set([...this.#entries.values()].filter((entry) => entry.userId === userId).map((entry) => entry.chatId as string))
    return chatIds.filter((chatId) => active.has(chatId))
  }

  /** The ids of the user's tasks running in the chat. */
  listTaskIds(userId: UserId, chatId: ChatId): string[] {
    return [...this.#entries.values()].filter((entry) => entry.userId === userId && entry.chatId === chatId).map((entry) => entry.id)
  }
}
