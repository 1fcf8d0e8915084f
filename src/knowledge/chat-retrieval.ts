/**
 * Retrieval for one chat request: the files and knowledge bases it names (Open WebUI's frontend
 * sends `files: [{ type: 'file' | 'collection', id, ... }]`) are checked for access, the last user
 * message is the question, and the context found goes in front of the messages through the RAG
 * template, as Open WebUI does (prepended to the first system message, or as a new one). Other
 * entries of `files` (images) are not retrieval's and are left to their own handling.
 */
import type { User } from '../db/users.ts'
import { resolveFileReferences, type FileReference, type KnowledgeAccessDeps } from './knowledge-access.ts'
import { contextFrom, fillRagTemplate, sourcesFrom, type Source } from './rag-context.ts'
import type { Retrieval } from './retrieval.ts'

type ChatMessage = { role: string; content?: unknown }

export type ChatRetrievalDeps = KnowledgeAccessDeps & { retrieval: Retrieval; config: { template: string } }

export type ChatRetrieval<M extends ChatMessage> = { ok: true; messages: M[]; sources: Source[] } | { ok: false; reason: 'file_not_found' }

/** The file and knowledge references among a request's `files`; malformed entries are skipped as Open WebUI skips them. */
export function fileReferencesOf(files: unknown): FileReference[] {
  if (!Array.isArray(files)) return []
  return files.slice(0, 100).flatMap((file): FileReference[] => {
    if (typeof file !== 'object' || file === null) return []
    const { type, id } = file as { type?: unknown; id?: unknown }
    if ((type !== 'file' && type !== 'collection') || typeof id !== 'string' || id === '' || id.length > 128) return []
    return [{ type, id }]
  })
}

/** The text of a message's content: a string, or the text parts of a list. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text' ? String((part as { text?: unknown }).text ?? '') : '')).join('\n')
}

/** The passages of the referenced documents that best answer `query`, as Open WebUI's `sources`; `file_not_found` when any reference is not the asker's to use. */
export async function findSources(deps: ChatRetrievalDeps, user: User, references: readonly FileReference[], query: string): Promise<{ ok: true; sources: Source[] } | { ok: false; reason: 'file_not_found' }> {
  if (references.length === 0) return { ok: true, sources: [] }
  const documents = await resolveFileReferences(deps, user, references)
  if (documents === null) return { ok: false, reason: 'file_not_found' }
  return { ok: true, sources: sourcesFrom(await deps.retrieval.search(documents, query)) }
}

/** The messages with the sources put in through the RAG template: prepended to the first system message, or as a new one. */
export function withRetrievedContext<M extends ChatMessage>(template: string, sources: readonly Source[], query: string, messages: readonly M[]): M[] {
  if (sources.length === 0) return [...messages]
  const prompt = fillRagTemplate(template, contextFrom(sources), query)
  const [first, ...rest] = messages
  if (first?.role === 'system' && typeof first.content === 'string') return [{ ...first, content: `${prompt}\n${first.content}` }, ...rest]
  return [{ role: 'system', content: prompt } as M, ...messages]
}

/** The question of a chat request: the text of its last user message. */
export const questionOf = (messages: readonly ChatMessage[]): string => textOf([...messages].reverse().find((message) => message.role === 'user')?.content)

/** The messages with the retrieved context put in, and the sources it came from; unchanged when nothing is referenced. */
export async function retrieveForChat<M extends ChatMessage>(deps: ChatRetrievalDeps, user: User, references: readonly FileReference[], messages: readonly M[]): Promise<ChatRetrieval<M>> {
  const query = questionOf(messages)
  const found = await findSources(deps, user, references, query)
  if (!found.ok) return found
  return { ok: true, messages: withRetrievedContext(deps.config.template, found.sources, query, messages), sources: found.sources }
}
