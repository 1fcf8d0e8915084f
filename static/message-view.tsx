/** One message: Markdown for the text (sanitised), a copy button on each code block, and its actions. */
import type { Signal } from '@preact/signals'
import { memo } from 'preact/compat'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import { copyText } from './copy-text.ts'
import { renderMarkdown } from './markdown.ts'

/** The sanitised HTML of `text`, with a Copy button added to each code block after it is placed. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  const ref = useRef<HTMLDivElement>(null)
  const html = useMemo(() => renderMarkdown(text), [text])
  useLayoutEffect(() => {
    for (const block of ref.current?.querySelectorAll('.code-block') ?? []) {
      const button = document.createElement('button')
      button.type = 'button'
      button.className = 'copy-code'
      button.textContent = 'Copy'
      button.setAttribute('aria-label', 'Copy code')
      button.addEventListener('click', async () => {
        const copied = await copyText(block.querySelector('code')?.textContent ?? '')
        button.textContent = copied ? 'Copied' : 'Copy failed'
        setTimeout(() => (button.textContent = 'Copy'), 1500)
      })
      block.prepend(button)
    }
  }, [html])
  return <div ref={ref} class="markdown" dangerouslySetInnerHTML={{ __html: html }} />
})

/** Markdown of a streaming text, re-rendered at most once a frame however fast the deltas come. */
export function StreamingMarkdown({ text }: { text: Signal<string> }) {
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
  return <Markdown text={shown} />
}

/** The Copy button of a whole message. */
export function CopyButton({ text, label = 'Copy', ariaLabel = 'Copy message' }: { text: string; label?: string; ariaLabel?: string }) {
  const [copied, setCopied] = useState(false)
  return (
    <button type="button" class="icon" aria-label={ariaLabel} onClick={async () => {
      setCopied(await copyText(text))
      setTimeout(() => setCopied(false), 1500)
    }}>{copied ? 'Copied' : label}</button>
  )
}
