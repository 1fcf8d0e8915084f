/**
 * The sidebar's chats: loaded a page of 60 at a time as the list scrolls (so 10,000 chats cost
 * what the visible ones cost), searched on the server, and changed in place by rename, pin,
 * archive and delete.
 */
import { batch, signal } from '@preact/signals'
import { api } from './api.ts'
import type { ChatSummary } from './types.ts'

const PAGE_SIZE = 60

export type ListMode = 'live' | 'archived'

export const chats = signal<ChatSummary[]>([])
export const pinned = signal<ChatSummary[]>([])
export const listMode = signal<ListMode>('live')
export const searchText = signal('')
export const hasMore = signal(true)
export const listLoading = signal(false)
export const listError = signal<string | null>(null)

let page = 0
let generation = 0

const listPath = (nextPage: number) => {
  const query = searchText.value.trim()
  if (query !== '') return `/api/v1/chats/search?text=${encodeURIComponent(query)}&page=${nextPage}`
  // note: pinned chats are in the list too (the sidebar shows them on top and drops them below), and so are chats in folders, which this sidebar does not show.
  return listMode.value === 'archived' ? `/api/v1/chats/archived?page=${nextPage}` : `/api/v1/chats/?page=${nextPage}&include_pinned=true&include_folders=true`
}

/** Starts the list again from its first page (after a mode or search change). */
export async function reloadChats(): Promise<void> {
  generation += 1
  page = 0
  batch(() => {
    chats.value = []
    hasMore.value = true
    listLoading.value = false
  })
  if (listMode.value === 'live' && searchText.value.trim() === '') {
    api<ChatSummary[]>('GET', '/api/v1/chats/pinned?page=1').then((found) => (pinned.value = found), () => undefined)
  }
  await loadMoreChats()
}

/** Loads the next page, unless one is loading or there is none. */
export async function loadMoreChats(): Promise<void> {
  if (listLoading.value || !hasMore.value) return
  const mine = generation
  listLoading.value = true
  try {
    const found = await api<ChatSummary[]>('GET', listPath(page + 1))
    if (mine !== generation) return
    page += 1
    const known = new Set(chats.value.map((chat) => chat.id))
    batch(() => {
      chats.value = [...chats.value, ...found.filter((chat) => !known.has(chat.id))]
      hasMore.value = found.length === PAGE_SIZE
      listError.value = null
    })
  } catch {
    if (mine === generation) listError.value = 'The chat list could not be loaded.'
  } finally {
    if (mine === generation) listLoading.value = false
  }
}

/** Puts a chat at the top of the list (it just changed), or updates it where it is pinned. */
export function bumpChat(summary: ChatSummary): void {
  if (listMode.value !== 'live' || searchText.value.trim() !== '') return
  batch(() => {
    chats.value = [summary, ...chats.value.filter((chat) => chat.id !== summary.id)]
    if (summary.pinned) pinned.value = [summary, ...pinned.value.filter((chat) => chat.id !== summary.id)]
  })
}

/** Shows a new title wherever the chat is listed (the model named it, or another tab renamed it). */
export function retitleChat(id: string, title: string): void {
  const retitled = (list: ChatSummary[]) => list.map((chat) => (chat.id === id ? { ...chat, title } : chat))
  batch(() => {
    chats.value = retitled(chats.value)
    pinned.value = retitled(pinned.value)
  })
}

/** Takes a chat out of every list here. */
export function dropChat(id: string): void {
  batch(() => {
    chats.value = chats.value.filter((chat) => chat.id !== id)
    pinned.value = pinned.value.filter((chat) => chat.id !== id)
  })
}

const replaceChat = (summary: ChatSummary) => {
  batch(() => {
    chats.value = chats.value.map((chat) => (chat.id === summary.id ? summary : chat))
    pinned.value = summary.pinned && !summary.archived
      ? [summary, ...pinned.value.filter((chat) => chat.id !== summary.id)]
      : pinned.value.filter((chat) => chat.id !== summary.id)
  })
}

const summaryOf = (chat: ChatSummary): ChatSummary =>
  ({ id: chat.id, title: chat.title, updated_at: chat.updated_at, created_at: chat.created_at, pinned: chat.pinned, archived: chat.archived })

export async function renameChat(id: string, title: string): Promise<ChatSummary> {
  const changed = summaryOf(await api<ChatSummary>('POST', `/api/v1/chats/${id}/rename`, { title }))
  replaceChat(changed)
  return changed
}

export async function togglePin(id: string): Promise<ChatSummary> {
  const changed = summaryOf(await api<ChatSummary>('POST', `/api/v1/chats/${id}/pin`))
  replaceChat(changed)
  return changed
}

export async function toggleArchive(id: string): Promise<ChatSummary> {
  const changed = summaryOf(await api<ChatSummary>('POST', `/api/v1/chats/${id}/archive`))
  dropChat(id)
  return changed
}

export async function deleteChat(id: string): Promise<void> {
  await api('DELETE', `/api/v1/chats/${id}`)
  dropChat(id)
}
