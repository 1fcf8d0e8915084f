/**
 * Citations of an answer given retrieved passages (the message's `sources`, Open WebUI's shape:
 * one entry per file, `source.name` and its passages in `document`). They are numbered from 1 as
 * the prompt numbered them, so the model's `[N]` names the N-th; the answer's `[N]` markers become
 * buttons (linkCitations), and each citation opens a dialog with the file's name and the cited
 * passages. Threat: passages and names are user data (a document's text), so they are only ever
 * placed as text (JSX text, textContent), never as HTML.
 */
import { useEffect, useRef } from 'preact/hooks'
import { BookOpen, X } from './icons.ts'

export type Source = { name: string; passages: string[] }

/** The sources of a stored message, as far as they have Open WebUI's shape; anything else is left out. */
export function sourcesOf(value: unknown): Source[] {
  if (!Array.isArray(value)) return []
  return value.slice(0, 100).flatMap((entry): Source[] => {
    if (typeof entry !== 'object' || entry === null) return []
    const { source, document } = entry as { source?: { name?: unknown }; document?: unknown }
    const name = typeof source?.name === 'string' ? source.name : 'Source'
    const passages = Array.isArray(document) ? document.filter((text): text is string => typeof text === 'string') : []
    return [{ name, passages }]
  })
}

const MARKER = /(\[\d{1,3}\])/

/**
 * Turns the `[N]` markers of the placed answer into buttons naming citation N (1 to `count`);
 * markers in code, in math, or beyond the sources stay text. Idempotent: a marker already a button is skipped.
 */
export function linkCitations(root: HTMLElement, count: number): void {
  if (count === 0) return
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
  const found: Text[] = []
  while (walker.nextNode()) {
    const node = walker.currentNode as Text
    if (MARKER.test(node.data) && node.parentElement?.closest('pre, code, .math, .citation-marker') == null) found.push(node)
  }
  for (const node of found) {
    const fragment = document.createDocumentFragment()
    for (const part of node.data.split(MARKER)) {
      const index = Number(/^\[(\d{1,3})\]$/.exec(part)?.[1] ?? 0)
      if (index < 1 || index > count) {
        if (part !== '') fragment.append(part)
        continue
      }
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'citation-marker'
      button.dataset.citation = String(index)
      button.setAttribute('aria-label', `Citation ${index}`)
      button.textContent = String(index)
      fragment.append(button)
    }
    node.replaceWith(fragment)
  }
}

/** The numbered citations under an answer; choosing one opens it. */
export function Citations({ sources, onOpen }: { sources: Source[]; onOpen: (index: number) => void }) {
  if (sources.length === 0) return null
  return (
    <ol class="citations" aria-label="Sources">
      {sources.map((source, index) => (
        <li key={index}>
          <button type="button" class="secondary small" onClick={() => onOpen(index + 1)} aria-label={`Source ${index + 1}: ${source.name}`} title={source.name}>
            <span class="citation-number">{index + 1}</span><BookOpen size={14} /><span class="citation-name">{source.name}</span>
          </button>
        </li>
      ))}
    </ol>
  )
}

/**
 * The dialog showing citation `index` (from 1): the file's name and the passages the answer was
 * given. Escape or Close closes it; focus goes back to what opened it, or to the message box when
 * that is gone (the streamed answer replaced by the stored one) or was never focused.
 */
export function CitationDialog({ source, index, onClose }: { source: Source; index: number; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null)
  const mounted = useRef(true)
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null
    const dialog = ref.current
    if (dialog !== null && !dialog.open) dialog.showModal()
    return () => {
      // note: the page outside a modal dialog takes no focus, so it is closed before focus moves.
      mounted.current = false
      if (dialog?.open === true) dialog.close()
      const back = opener?.isConnected === true && opener.closest('dialog') === null ? opener : document.getElementById('message')
      back?.focus()
    }
  }, [])
  const close = () => {
    if (mounted.current) onClose()
  }
  return (
    <dialog ref={ref} class="citation-dialog" aria-labelledby="citation-title" onCancel={(event) => { event.preventDefault(); close() }} onClose={close}>
      <div class="dialog-header">
        <h2 id="citation-title"><span class="citation-number">{index}</span> {source.name}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={onClose}><X size={16} /></button>
      </div>
      {source.passages.map((passage, at) => <blockquote key={at} class="citation-passage">{passage}</blockquote>)}
    </dialog>
  )
}
