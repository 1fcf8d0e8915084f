/**
 * Chat list and search: 10,000 chats of one user (a title and one short message each), listed in
 * one request (GET /api/v1/chats/ without a page, as Open WebUI answers it), a page of 60 at a time
 * as the sidebar asks, and searched for a word in about 1% of them (half in titles, half in
 * messages). Search reads an in-memory index of decrypted text: the first search builds it
 * (decrypting every title and message), later ones scan it, and listing reuses its titles. Each
 * figure is given warm (index built) and cold (every title decrypted on the spot).
 */
import { ALL_ROWS } from '../src/db/chats.ts'
import type { BenchStore } from './bench-store.ts'
import { median, medianMsAsync, timeOnceMsAsync } from './measure.ts'
import { formatNumber, type BenchRow } from './report.ts'

const CHATS = 10_000
const PAGE = { limit: 60, offset: 0 }
const RUNS = { warmups: 3, repetitions: 15 }
const COLD_RUNS = 5
const NEEDLE = 'Kilimanjaro'

export type ListSearchFigures = {
  firstPageMs: number; allPagesMs: number; allPagesIndexedMs: number; pages: number; searchMs: number; coldSearchMs: number; hits: number
  /** A search right after a message was rewritten (as a streaming answer's checkpoint does every second). */
  afterRewriteMs: number
  /** The whole list in one request: titles decrypted on the spot, and taken from the search index. */
  allColdMs: number; allIndexedMs: number
  /** The deepest page alone (offset 9,960), the slowest the sidebar asks for, titles from the index. */
  lastPageMs: number
}

/** Creates the chats for a new user of the bench store in one transaction, then times listing and search. */
export async function measureChatListSearch({ store }: BenchStore): Promise<ListSearchFigures> {
  const created = await store.users.createUser({ email: 'search-bench@example.com', name: 'Search Bench', role: 'user' })
  if (!created.ok) throw new Error(`could not create the search benchmark user: ${created.reason}`)
  const owner = created.user.id
  await store.sql.transaction(async () => {
    for (let i = 0; i < CHATS; i++) {
      const title = i % 200 === 0 ? `Trip to ${NEEDLE} ${i}` : `Chat number ${i} about gardening`
      const content = i % 200 === 100 ? `How long does climbing ${NEEDLE.toLowerCase()} take? (${i})` : `A short question, number ${i}.`
      await store.chats.createChat(owner, title, [{ role: 'user', content }])
    }
  })

  const firstPageMs = await medianMsAsync(async () => await store.chats.listFilteredChatsForUser(owner, 'live', PAGE), RUNS)
  let pages = 0
  const listAllPages = async () => {
    pages = 0
    for (let offset = 0; ; offset += PAGE.limit, pages++) {
      if ((await store.chats.listFilteredChatsForUser(owner, 'live', { limit: PAGE.limit, offset })).length === 0) break
    }
  }
  const allPagesMs = await medianMsAsync(listAllPages, { warmups: 1, repetitions: 5 })
  const listAll = async () => {
    if ((await store.chats.listFilteredChatsForUser(owner, 'live', ALL_ROWS)).length !== CHATS) throw new Error('the whole list lost chats')
  }
  const allColdMs = await medianMsAsync(listAll, { warmups: 1, repetitions: 5 })

  const query = NEEDLE.toUpperCase()
  const search = async () => await store.chats.searchChatsForUser(owner, query, { limit: 100, offset: 0 })
  const cold: number[] = []
  for (let i = 0; i < COLD_RUNS; i++) {
    store.chats.forgetSearchIndexForUser(owner)
    cold.push(await timeOnceMsAsync(search))
  }
  const hits = (await search()).length
  if (hits !== CHATS / 100) throw new Error(`search found ${hits} chats, expected ${CHATS / 100}`)
  const searchMs = await medianMsAsync(search, RUNS)
  const [answered] = await store.chats.listChatsForUser(owner, { limit: 1, offset: 0 })
  const answer = (await store.chats.addMessage(owner, answered!.id, { role: 'assistant', content: 'An answer in progress' }))!
  const afterRewrite: number[] = []
  for (let i = 0; i < COLD_RUNS; i++) {
    await store.chats.replaceMessageContentForUser(owner, answered!.id, answer.id, { content: `An answer in progress, checkpoint ${i}`, stats: { partial: true } })
    afterRewrite.push(await timeOnceMsAsync(search))
  }
  // note: with the search index in memory, listing reuses its decrypted titles.
  const allPagesIndexedMs = await medianMsAsync(listAllPages, { warmups: 1, repetitions: 5 })
  const allIndexedMs = await medianMsAsync(listAll, { warmups: 1, repetitions: 5 })
  const lastPage = { limit: PAGE.limit, offset: (pages - 1) * PAGE.limit }
  const lastPageMs = await medianMsAsync(async () => await store.chats.listFilteredChatsForUser(owner, 'live', lastPage), RUNS)
  return { firstPageMs, allPagesMs, allPagesIndexedMs, pages, searchMs, coldSearchMs: median(cold), hits, afterRewriteMs: median(afterRewrite), allColdMs, allIndexedMs, lastPageMs }
}

/**
 * Returns the whole list in one request, the slowest page request and the warm search against
 * ≤50 ms each, with the index built (the steady state the issue asks for: decrypted per user, in
 * memory); the cold figures, and all pages one after another, beside them.
 */
export function chatListSearchRows(figures: ListSearchFigures): BenchRow[] {
  const { firstPageMs, allPagesMs, allPagesIndexedMs, pages, searchMs, coldSearchMs, hits, afterRewriteMs, allColdMs, allIndexedMs, lastPageMs } = figures
  const target = { kind: 'atMost', limit: 50, label: '≤50 ms' } as const
  const ms = (value: number) => `${formatNumber(value, 2)} ms`
  return [
    {
      name: `list ${formatNumber(CHATS)} chats, one request`,
      figures: [`${ms(allIndexedMs)} median, titles from the index`, `${ms(allColdMs)} with every title decrypted`, `first page of 60 ${ms(firstPageMs)}`],
      measured: allIndexedMs, measuredText: ms(allIndexedMs), target,
    },
    {
      name: `list ${formatNumber(CHATS)} chats, slowest page`,
      figures: [`page ${pages} of ${pages} (60 a page): ${ms(lastPageMs)} median`, `all ${pages} pages one after another: ${ms(allPagesIndexedMs)}`, `${ms(allPagesMs)} with every title decrypted`],
      measured: lastPageMs, measuredText: ms(lastPageMs), target,
    },
    {
      name: `search ${formatNumber(CHATS)} chats (1% hits)`, figures: [`${ms(searchMs)} median`, `${hits} hits`, `first search ${ms(coldSearchMs)} (builds index); after a message rewrite ${ms(afterRewriteMs)}`],
      measured: searchMs, measuredText: ms(searchMs), target,
    },
  ]
}
