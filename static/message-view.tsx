/**
 * One message: Markdown for the text (sanitised), a copy button on each code block, math and
 * diagrams drawn by chunks loaded only when a message has them, and the Copy button of a message.
 */
import type { Signal } from '@preact/signals'
import { memo } from 'preact/compat'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import { linkCitations } from './citations.tsx'
import { copyText } from './copy-text.ts'
import { Check, Copy } from './icons.ts'
import { renderMarkdown } from './markdown.ts'

const SVG = 'http://www.w3.org/2000/svg'

/** Lucide's copy icon, built as DOM for the buttons added to placed HTML. */
function copyIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg')
  for (const [name, value] of Object.entries({ width: '14', height: '14', viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true' })) svg.setAttribute(name, value)
  const rect = document.createElementNS(SVG, 'rect')
  for (const [name, value] of Object.entries({ width: '14', height: '14', x: '8', y: '8', rx: '2', ry: '2' })) rect.setAttribute(name, value)
  const path = document.createElementNS(SVG, 'path')
  path.setAttribute('d', 'M4 16c-1.1 0-2-.9-2-2V4c0-1.1.9-2 2-2h10c1.1 0 2 .9 2 2')
  svg.append(rect, path)
  return svg
}

function addCopyButton(block: Element): void {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'copy-code'
  const label = document.createElement('span')
  label.textContent = 'Copy'
  button.append(copyIcon(), label)
  button.setAttribute('aria-label', 'Copy code')
  button.addEventListener('click', async () => {
    const copied = await copyText(block.querySelector('code')?.textContent ?? '')
    label.textContent = copied ? 'Copied' : 'Copy failed'
    setTimeout(() => (label.textContent = 'Copy'), 1500)
  })
  block.prepend(button)
}

/**
 * The sanitised HTML of `text`, with a Copy button on each code block, its math drawn, (once
 * the text is final, not `live`) its diagrams, and its `[N]` markers as buttons calling `onCite`
 * when it has `citations` sources.
 */
export const Markdown = memo(function Markdown({ text, live = false, citations = 0, onCite }: { text: string; live?: boolean; citations?: number; onCite?: (index: number) => void }) {
  const ref = useRef<HTMLDivElement>(null)
  const html = useMemo(() => renderMarkdown(text), [text])
  useLayoutEffect(() => {
    const root = ref.current
    if (root === null) return
    // note: the effect runs again when a streamed text becomes final with the same HTML; each block gets one button.
    for (const block of root.querySelectorAll('.code-block')) if (block.querySelector(':scope > .copy-code') === null) addCopyButton(block)
    if (root.querySelector('.math') !== null) void import('./math-render.ts').then((module) => module.renderMathIn(root))
    // note: a diagram is drawn only once its text is whole; a half-streamed one would fail every frame.
    if (!live && root.querySelector('.mermaid-block') !== null) void import('./mermaid-render.ts').then((module) => module.renderDiagramsIn(root))
    if (!live) linkCitations(root, citations)
  }, [html, live, citations])
  const onClick = onCite === undefined ? undefined : (event: MouseEvent) => {
    const marker = (event.target as Element | null)?.closest?.('button.citation-marker') as HTMLElement | null | undefined
    if (marker != null) onCite(Number(marker.dataset.citation))
  }
  return <div ref={ref} class="markdown" onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />
})

/** Markdown of a streaming text, re-rendered at most once a frame however fast the deltas come. */
export function StreamingMarkdown({ text, live = true, citations = 0, onCite }: { text: Signal<string>; live?: boolean; citations?: number; onCite?: (index: number) => void }) {
  const [shown, setShown] = useState(text.peek())
  useEffect(() => {
    let frame = 0
    const dispose = text.subscribe((value) => {
      if (frame !== 0) return
      frame = requestAnimationFrame(() => {
        frame = 0
        setShown(text.peek())
      })
      void value
    })
    return () => {
      dispose()
      if (frame !== 0) cancelAnimationFrame(frame)
    }
  }, [text])
  // note: once the text is final it is drawn whole at once, with its citations, not a frame later.
  return <Markdown text={live ? shown : text.peek()} live={live} citations={citations} onCite={onCite} />
}

/** The Copy button of a whole message (or of another text, with its own labels). */
export function CopyButton({ text, label, ariaLabel = 'Copy message' }: { text: string; label?: string; ariaLabel?: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <button type="button" class={label === undefined ? 'icon' : 'secondary small'} aria-label={ariaLabel} title={ariaLabel} onClick={async () => {
      setCopied(await copyText(text))
      setTimeout(() => setCopied(false), 1500)
    }}>{copied ? <Check size={16} /> : <Copy size={16} />}{label !== undefined && (copied ? 'Copied' : label)}</button>
  )
}
