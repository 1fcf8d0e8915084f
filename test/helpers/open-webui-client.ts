/**
 * A stand-in for Open WebUI's web page and the Conduit app as far as the chat save goes: it keeps a
 * chat's history the way they do (Chat.svelte: submitPrompt/sendPrompt/regenerate/edit, and
 * Conduit's api_service.dart syncConversationMessages) and builds the body each of them POSTs.
 */

export type ClientMessage = Record<string, unknown> & {
  id: string; parentId: string | null; childrenIds: string[]; role: 'user' | 'assistant' | 'system'; content: string; timestamp: number
}
export type ClientHistory = { messages: Record<string, ClientMessage>; currentId: string | null }

let clock = 1_750_000_000

/** Open WebUI's createMessagesList: the path from the root to `id`. */
export function messagesList(history: ClientHistory, id: string | null): ClientMessage[] {
  const list: ClientMessage[] = []
  for (let at = id === null ? undefined : history.messages[id]; at !== undefined; at = at.parentId === null ? undefined : history.messages[at.parentId]) list.unshift(at)
  return list
}

/** One chat as Open WebUI's page holds it. */
export class OpenWebUiPage {
  history: ClientHistory = { messages: {}, currentId: null }
  models = ['llama3.2:3b']
  params: Record<string, unknown> = { temperature: 0.7, top_p: 0.9, num_ctx: 4096, seed: 42, stop: ['</s>'], system: 'Answer briefly.' }
  files: unknown[] = []

  private add(message: Omit<ClientMessage, 'childrenIds' | 'timestamp'> & Record<string, unknown>): ClientMessage {
    const full = { childrenIds: [], timestamp: clock++, ...message } as unknown as ClientMessage
    this.history.messages[full.id] = full
    if (full.parentId !== null) this.history.messages[full.parentId]!.childrenIds.push(full.id)
    this.history.currentId = full.id
    return full
  }

  /** submitPrompt: a user message under the shown leaf (or under `parentId`: an edit makes a sibling). */
  ask(content: string, parentId: string | null = this.history.currentId): ClientMessage {
    return this.add({ id: crypto.randomUUID(), parentId, role: 'user', content, models: [...this.models] })
  }

  /** sendPrompt: the empty assistant message the page saves before the answer streams. */
  startAnswer(parentId: string): ClientMessage {
    return this.add({ id: crypto.randomUUID(), parentId, role: 'assistant', content: '', done: false, model: this.models[0], modelName: 'Llama 3.2', modelIdx: 0, userContext: null })
  }

  /** The answer's end as chatCompletedHandler leaves it: done, usage, status history, sources, follow-ups. */
  finishAnswer(message: ClientMessage, content: string): void {
    Object.assign(message, {
      content, done: true,
      usage: { prompt_tokens: 12, completion_tokens: content.length, total_duration: 1_234_567 },
      statusHistory: [{ action: 'web_search', description: 'Searched 3 sites', done: true }],
      sources: [{ source: { name: 'doc.pdf' }, document: ['a passage'], metadata: [{ page: 2 }] }],
      followUps: ['And then?'], lastSentence: content.split('.').at(-1),
    })
  }

  /** A failed answer as the page shows it. */
  failAnswer(message: ClientMessage, reason: string): void {
    Object.assign(message, { done: true, error: { content: reason } })
  }

  /** regenerateResponse: another answer under the same user message. */
  regenerate(userMessageId: string, content: string): ClientMessage {
    const answer = this.startAnswer(userMessageId)
    this.finishAnswer(answer, content)
    return answer
  }

  /** showPreviousMessage / showNextMessage: the page selects the newest leaf under the chosen message. */
  switchTo(messageId: string): void {
    let at = this.history.messages[messageId]!
    while (at.childrenIds.length > 0) at = this.history.messages[at.childrenIds.at(-1)!]!
    this.history.currentId = at.id
  }

  /** What saveChatHandler sends: updateChatById(token, id, { models, history, messages, params, files }). */
  saveBody() {
    return clone({ chat: { models: this.models, history: this.history, messages: messagesList(this.history, this.history.currentId), params: this.params, files: this.files } })
  }

  /** What the first message sends: createNewChat(token, {...}). */
  newChatBody(title = 'New Chat') {
    return clone({ chat: { id: '', title, models: this.models, system: undefined, params: this.params, history: this.history, messages: messagesList(this.history, this.history.currentId), tags: [], timestamp: Date.now() } })
  }
}

/** Conduit's full sync of a chat (syncConversationMessages): a system prompt, `params: {}`, `files: []` and its own fields. */
export function conduitSyncBody(page: OpenWebUiPage, systemPrompt: string) {
  const messages = Object.fromEntries(Object.entries(page.history.messages).map(([id, message]) => [id, {
    ...message,
    ...(message.role === 'assistant' ? { modelIdx: 0, attachment_ids: ['file-1'], embeds: [{ url: 'https://example.com' }], code_executions: [{ id: 'c1', code: 'print(1)' }] } : {}),
  }]))
  const history = { messages, currentId: page.history.currentId }
  return clone({ chat: { title: 'From Conduit', models: page.models, system: systemPrompt, messages: messagesList(history as ClientHistory, history.currentId), history, params: {}, files: [] } })
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
