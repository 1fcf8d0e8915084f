import { expect, test } from 'bun:test'
import fc from 'fast-check'
import type { App } from '../../src/http/create-app.ts'
import { bearer, signUp, startClockedApp } from '../helpers/accounts.ts'
import { messagesList, OpenWebUiPage, type ClientHistory } from '../helpers/open-webui-client.ts'
import { req } from '../helpers/test-app.ts'

// Any sequence of what a client does to a chat (ask and answer, regenerate, edit a question, switch
// branch, edit an answer in place, delete a message, save again unchanged) and saves through the
// REST API leaves the stored tree equal to the client's; no save is answered 200 having dropped
// anything.

const CHATS = '/api/v1/chats'

type Op =
  | { kind: 'ask'; text: string }
  | { kind: 'regenerate'; pick: number; text: string }
  | { kind: 'edit'; pick: number; text: string }
  | { kind: 'switch'; pick: number }
  | { kind: 'rewrite'; pick: number; text: string }
  | { kind: 'delete'; pick: number }
  | { kind: 'resave' }

const text = fc.string({ maxLength: 40, unit: 'grapheme' })
const pick = fc.nat()
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('ask' as const), text }),
  fc.record({ kind: fc.constant('regenerate' as const), pick, text }),
  fc.record({ kind: fc.constant('edit' as const), pick, text }),
  fc.record({ kind: fc.constant('switch' as const), pick }),
  fc.record({ kind: fc.constant('rewrite' as const), pick, text }),
  fc.record({ kind: fc.constant('delete' as const), pick }),
  fc.constant({ kind: 'resave' as const }),
)

const idsWithRole = (page: OpenWebUiPage, role: string) => Object.values(page.history.messages).filter((message) => message.role === role).map((message) => message.id)
const chosen = <T>(list: T[], at: number): T | undefined => (list.length === 0 ? undefined : list[at % list.length])

/**
 * Open WebUI's delete (Messages.svelte, deleteMessage): the message and its direct children go, their
 * children move up under its parent (roots when it had none). Siblings stay in the order they were
 * made, as the server keeps them; the selection stays when it survives, else the newest leaf under the
 * deleted message's parent (the newest root's when it had none).
 */
function deleteInModel(page: OpenWebUiPage, id: string): void {
  const { messages } = page.history
  const made = Object.keys(messages)
  const byAge = (ids: string[]) => ids.sort((a, b) => made.indexOf(a) - made.indexOf(b))
  const target = messages[id]!
  const doomed = [id, ...target.childrenIds]
  const moved = target.childrenIds.flatMap((child) => messages[child]!.childrenIds)
  const wasSelected = doomed.includes(page.history.currentId ?? '')
  for (const gone of doomed) delete messages[gone]
  for (const child of moved) messages[child]!.parentId = target.parentId
  if (target.parentId !== null) messages[target.parentId]!.childrenIds = byAge([...messages[target.parentId]!.childrenIds.filter((child) => child !== id), ...moved])
  if (!wasSelected) return
  if (target.parentId !== null) return page.switchTo(target.parentId)
  const roots = Object.values(messages).filter((message) => message.parentId === null)
  if (roots.length === 0) page.history.currentId = null
  else page.switchTo(roots.at(-1)!.id)
}

async function apply(app: App, headers: Record<string, string>, chatId: string, page: OpenWebUiPage, step: Op): Promise<void> {
  const save = async () => {
    const res = await app.handle(req('POST', `${CHATS}/${chatId}`, page.saveBody(), headers))
    expect(res.status).toBe(200)
  }
  switch (step.kind) {
    case 'ask': {
      const question = page.ask(step.text)
      page.finishAnswer(page.startAnswer(question.id), step.text.toUpperCase())
      return save()
    }
    case 'regenerate': {
      const question = chosen(idsWithRole(page, 'user'), step.pick)
      if (question !== undefined) page.regenerate(question, step.text)
      return save()
    }
    case 'edit': {
      const question = chosen(idsWithRole(page, 'user'), step.pick)
      if (question !== undefined) page.ask(step.text, page.history.messages[question]!.parentId)
      return save()
    }
    case 'switch': {
      const target = chosen(Object.keys(page.history.messages), step.pick)
      if (target !== undefined) page.switchTo(target)
      return save()
    }
    case 'rewrite': {
      const target = chosen(idsWithRole(page, 'assistant'), step.pick)
      if (target !== undefined) page.history.messages[target]!.content = step.text
      return save()
    }
    case 'delete': {
      const target = chosen(Object.keys(page.history.messages), step.pick)
      if (target === undefined) return
      const res = await app.handle(req('DELETE', `${CHATS}/${chatId}/messages/${target}`, undefined, headers))
      expect(res.status).toBe(200)
      return deleteInModel(page, target)
    }
    case 'resave':
      return save()
  }
}

test('any sequence of client actions and saves leaves the stored tree equal to the client\'s (fast-check)', async () => {
  const { app } = startClockedApp()
  const ada = bearer((await signUp(app, 'ada@example.com')).token)
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (steps) => {
    const page = new OpenWebUiPage()
    const created = await app.handle(req('POST', `${CHATS}/new`, page.newChatBody(), ada))
    const chatId = ((await created.json()) as { id: string }).id
    for (const step of steps) {
      await apply(app, ada, chatId, page, step)
      const stored = (await (await app.handle(req('GET', `${CHATS}/${chatId}`, undefined, ada))).json()) as { chat: { history: ClientHistory; messages: unknown[] } }
      expect(stored.chat.history).toEqual(page.history)
      expect(stored.chat.messages).toEqual(messagesList(page.history, page.history.currentId))
    }
  }), { numRuns: 60 })
})
