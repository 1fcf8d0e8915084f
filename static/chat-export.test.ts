import { describe, expect, test } from 'bun:test'
import { chatToMarkdown, fileNameFor, readExportFile } from './chat-export.ts'
import type { FullChat, StoredMessage } from './types.ts'

const message = (id: string, parentId: string | null, role: StoredMessage['role'], content: string, model?: string): StoredMessage =>
  ({ id, parentId, childrenIds: [], role, content, timestamp: 1, ...(model === undefined ? {} : { model }) })

const chat = (messages: StoredMessage[], currentId: string | null, title = '**Quokka** facts'): FullChat => ({
  id: 'c1', title, updated_at: 1, created_at: 1, pinned: false, archived: false,
  chat: { history: { messages: Object.fromEntries(messages.map((entry) => [entry.id, entry])), currentId } },
})

describe('chatToMarkdown', () => {
  test('the shown path only, each message under who wrote it, the title without its marks', () => {
    const messages = [
      message('s', null, 'system', 'hidden system prompt'), message('q', 's', 'user', 'What is a quokka?'),
      message('a1', 'q', 'assistant', 'An older answer', 'llama3.2:1b'), message('a2', 'q', 'assistant', 'A **small** marsupial.', 'qwen2.5:0.5b'),
    ]
    expect(chatToMarkdown(chat(messages, 'a2'))).toBe('# Quokka facts\n\n### User\n\nWhat is a quokka?\n\n### Assistant (qwen2.5:0.5b)\n\nA **small** marsupial.\n')
  })

  test('an empty chat is its title alone', () => {
    expect(chatToMarkdown(chat([], null, 'Empty'))).toBe('# Empty\n')
  })
})

describe('fileNameFor', () => {
  test.each([
    ['Quokka facts', 'Quokka-facts.md'],
    ['**Bold** / slashes \\ and ../dots', 'Bold-slashes-and-dots.md'],
    ['<script>', 'script.md'],
    ['', 'chat.md'],
    ['???', 'chat.md'],
    ['Ünïcödé títle', 'Unicode-title.md'],
    ['x'.repeat(200), `${'x'.repeat(60)}.md`],
  ])('%j', (title, name) => {
    expect(fileNameFor(title, 'md')).toBe(name)
  })
})

describe('readExportFile', () => {
  test('Open WebUI export entries keep their chat, meta, pinned and times', () => {
    const text = JSON.stringify([{ id: 'x', title: 'T', chat: { title: 'T', history: {} }, meta: { tags: [] }, pinned: true, created_at: 10, updated_at: 20 }])
    expect(readExportFile(text)).toEqual([{ chat: { title: 'T', history: {} }, meta: { tags: [] }, pinned: true, created_at: 10, updated_at: 20 }])
  })

  test('a bare chat object (an older shape) is read as one chat', () => {
    expect(readExportFile(JSON.stringify({ title: 'T', messages: [] }))).toEqual([{ chat: { title: 'T', messages: [] }, pinned: false, created_at: null, updated_at: null }])
  })

  test.each([
    ['not JSON', '<html>', 'not JSON'],
    ['an empty list', '[]', 'no chats'],
    ['numbers', '[1, 2]', 'no chats'],
    ['null inside', '[{"chat": {}}, null]', 'no chats'],
    ['a string', '"chat"', 'no chats'],
  ])('%s is refused', (_, text, says) => {
    expect(() => readExportFile(text)).toThrow(says)
  })

  test('hostile times and flags are dropped, not passed on', () => {
    const [entry] = readExportFile(JSON.stringify([{ chat: {}, pinned: 'yes', created_at: -5, updated_at: 'soon' }]))
    expect(entry).toEqual({ chat: {}, pinned: false, created_at: null, updated_at: null })
  })
})
