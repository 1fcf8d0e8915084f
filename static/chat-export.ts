/**
 * Chats out of and into the page as files. JSON is Open WebUI's export: the array of chats
 * GET /api/v1/chats/all answers (one chat: an array of one), each with its `chat` object, which
 * Open WebUI and this server import as they are. Markdown is for reading: the chat's shown
 * messages, each under a heading naming who wrote it.
 */
import { api } from './api.ts'
import { pathTo } from './message-tree.ts'
import { plainTitle } from './plain-title.ts'
import type { FullChat } from './types.ts'

/** Chats one import request carries; a larger file goes in several. */
const IMPORT_BATCH = 50

/** Offers `text` as a download named `fileName`. */
export function downloadText(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = document.createElement('a')
  link.href = url
  link.download = fileName
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** A file name from a title: letters, digits and dashes, at most 60 of them. */
export function fileNameFor(title: string, extension: string): string {
  const base = plainTitle(title).normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60)
  return `${base === '' ? 'chat' : base}.${extension}`
}

/** The chat as Markdown: its title, then each shown message under "User" or "Assistant (model)". */
export function chatToMarkdown(chat: FullChat): string {
  const messages = pathTo(chat.chat.history.messages, chat.chat.history.currentId)
  const parts = [`# ${plainTitle(chat.title)}`]
  for (const message of messages) {
    if (message.role === 'system') continue
    const who = message.role === 'user' ? 'User' : `Assistant${message.model ? ` (${message.model})` : ''}`
    parts.push(`### ${who}\n\n${message.content}`)
  }
  return `${parts.join('\n\n')}\n`
}

/** Downloads one chat, as Open WebUI's JSON export or as Markdown. */
export async function exportChat(id: string, format: 'json' | 'markdown'): Promise<void> {
  const chat = await api<FullChat>('GET', `/api/v1/chats/${id}`)
  if (format === 'json') downloadText(`chat-export-${Date.now()}.json`, JSON.stringify([chat], null, 2), 'application/json')
  else downloadText(fileNameFor(chat.title, 'md'), chatToMarkdown(chat), 'text/markdown')
}

/** Downloads every chat of the user as Open WebUI's JSON export. */
export async function exportAllChats(): Promise<number> {
  const all = await api<unknown[]>('GET', '/api/v1/chats/all')
  downloadText(`chat-export-${Date.now()}.json`, JSON.stringify(all), 'application/json')
  return all.length
}

type ImportEntry = { chat: unknown; meta?: unknown; pinned?: boolean | null; folder_id?: string | null; created_at?: number | null; updated_at?: number | null }

/** Reads an export file's chats into import entries; throws an Error saying what is wrong with the file. */
export function readExportFile(text: string): ImportEntry[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error('This file is not JSON. Choose a chat export (a .json file).')
  }
  const list = Array.isArray(parsed) ? parsed : [parsed]
  const entries = list.map((item): ImportEntry | null => {
    if (typeof item !== 'object' || item === null) return null
    const record = item as Record<string, unknown>
    // note: Open WebUI's export wraps each chat's content in `chat`; an older shape is the content itself.
    const chat = typeof record.chat === 'object' && record.chat !== null ? record.chat : record
    const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null)
    return {
      chat,
      ...(record.meta === undefined ? {} : { meta: record.meta }),
      pinned: record.pinned === true,
      created_at: number(record.created_at),
      updated_at: number(record.updated_at),
    }
  })
  if (entries.length === 0 || entries.some((entry) => entry === null)) throw new Error('This file holds no chats in the export format.')
  return entries as ImportEntry[]
}

/** Imports the chats (Open WebUI's POST /api/v1/chats/import), a batch at a time; returns how many were stored. */
export async function importChats(entries: ImportEntry[], onProgress: (done: number) => void = () => {}): Promise<number> {
  let done = 0
  for (let at = 0; at < entries.length; at += IMPORT_BATCH) {
    const stored = await api<unknown[]>('POST', '/api/v1/chats/import', { chats: entries.slice(at, at + IMPORT_BATCH) })
    done += stored.length
    onProgress(done)
  }
  return done
}
