/**
 * The composer's `#` picker, as Open WebUI's: typing `#` (alone, or after a space) lists the
 * knowledge bases the user may read (GET /api/v1/knowledge/) and their own documents that the
 * server has read (GET /api/v1/files/), narrowed by what follows the `#`; Up/Down move, Enter or
 * Tab (or a click) attaches the chosen one as a chip in the tray (attachments.tsx) and removes the
 * `#word` from the text, Escape closes. The lists are fetched each time the picker opens. Names
 * are user data: they are drawn as text only.
 */
import { useEffect, useState } from 'preact/hooks'
import type { JSX, TargetedKeyboardEvent } from 'preact'
import { handlePickerKey } from './picker-keys.ts'
import { api } from './api.ts'
import { attachExisting } from './attachments.tsx'

export type Pickable = { kind: 'collection' | 'file'; id: string; name: string; detail: string }

/** The `#word` being typed at the end of the text, without its `#`, or null when there is none. */
export function referenceBeingTyped(text: string): string | null {
  const match = /(?:^|\s)#([^\s#]*)$/u.exec(text)
  return match === null ? null : match[1]!
}

type KnowledgeList = { items?: { id: string; name: string; description?: string }[] }
type FileEntry = { id: string; meta?: { name?: string; content_type?: string }; data?: { status?: string } }

/** The user's knowledge bases, then their documents ready to be asked about. */
async function loadPickables(): Promise<Pickable[]> {
  const [knowledge, files] = await Promise.all([
    api<KnowledgeList>('GET', '/api/v1/knowledge/').catch(() => ({ items: [] }) as KnowledgeList),
    api<FileEntry[]>('GET', '/api/v1/files/?content=false').catch(() => [] as FileEntry[]),
  ])
  const bases = (knowledge.items ?? []).map((item): Pickable => ({ kind: 'collection', id: item.id, name: item.name, detail: 'Knowledge base' }))
  const documents = (Array.isArray(files) ? files : [])
    .filter((file) => file.data?.status === 'completed' && file.meta?.content_type?.startsWith('image/') !== true)
    .map((file): Pickable => ({ kind: 'file', id: file.id, name: file.meta?.name ?? 'document', detail: 'Document' }))
  return [...bases, ...documents]
}

/**
 * The picker for the composer's `text`: `onKeyDown` takes the keys it handles (true: handled),
 * `view` is the list to draw above the box (null while closed), `activeId` the id of its highlighted
 * option, for the box's aria-activedescendant. `setText` receives the new text.
 */
export function useFilePicker(text: string, setText: (next: string) => void): { onKeyDown: (event: TargetedKeyboardEvent<HTMLTextAreaElement>) => boolean; view: JSX.Element | null; activeId: string | null } {
  const typed = referenceBeingTyped(text)
  const [pickables, setPickables] = useState<Pickable[]>([])
  const [active, setActive] = useState(0)
  const [dismissed, setDismissed] = useState<string | null>(null)
  useEffect(() => {
    if (typed !== null) void loadPickables().then(setPickables)
  }, [typed !== null])
  useEffect(() => setActive(0), [typed])
  const needle = typed?.toLowerCase() ?? ''
  const matches = typed === null || dismissed === text ? [] : pickables.filter((item) => item.name.toLowerCase().includes(needle)).slice(0, 10)

  const choose = (item: Pickable) => {
    attachExisting(item.kind, item.id, item.name)
    setText(text.slice(0, text.length - (typed?.length ?? 0) - 1))
  }

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLTextAreaElement>): boolean =>
    handlePickerKey(event, { count: matches.length, active, setActive, choose: (index) => choose(matches[index]!), dismiss: () => setDismissed(text) })

  const view = matches.length === 0 ? null : (
    <ul class="prompt-picker file-picker" id="file-picker" role="listbox" aria-label="Knowledge and documents">
      {matches.map((item, index) => (
        <li
          key={`${item.kind}:${item.id}`}
          id={`file-pick-${index}`}
          role="option"
          aria-selected={index === active}
          class={index === active ? 'active' : undefined}
          onMouseDown={(event) => { event.preventDefault(); choose(item) }}
        >
          <span class="picker-name">{item.name}</span> <span class="muted small">{item.detail}</span>
        </li>
      ))}
    </ul>
  )
  return { onKeyDown, view, activeId: matches.length === 0 ? null : `file-pick-${Math.min(active, matches.length - 1)}` }
}
