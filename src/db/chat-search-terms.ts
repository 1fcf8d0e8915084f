/**
 * Open WebUI's search text: words starting `tag:` name tags a chat must all carry (`tag:none`: a
 * chat with no tag), each read as a tag id (lower-case, spaces as underscores); the other words,
 * joined by single spaces, are the text to find.
 */
import { tagIdOf } from './chat-tags.ts'

export type SearchTerms = { text: string; tagIds: string[] }

/** Splits search text into the text to find and the tag ids to filter by. */
export function readSearchTerms(raw: string): SearchTerms {
  const words = raw.trim().split(' ').filter((word) => word !== '')
  const isTag = (word: string) => word.toLowerCase().startsWith('tag:') && word.length > 4
  return {
    text: words.filter((word) => !isTag(word)).join(' '),
    tagIds: words.filter(isTag).map((word) => tagIdOf(word.slice(4))),
  }
}

/** Whether a chat with these tag ids passes the filter (`none` asks for no tag at all). */
export function hasAllTags(chatTagIds: ReadonlySet<string> | undefined, wanted: readonly string[]): boolean {
  return wanted.every((id) => (id === 'none' ? (chatTagIds?.size ?? 0) === 0 : chatTagIds?.has(id) === true))
}
