/**
 * Draws the math in a placed message with KaTeX; its own chunk, imported only when a message has
 * math. Threat: the TeX is untrusted model output. KaTeX runs with `trust: false` (no \href, no
 * \htmlClass or \includegraphics), bounded sizes and expansions, and HTML output only: it builds
 * the nodes itself and sets their styles through the CSSOM, which the CSP's `style-src 'self'`
 * allows (its MathML output would set style attributes, which it refuses). The result is then
 * sanitised in place all the same. TeX that fails to parse stays shown as its source.
 */
import DOMPurify from 'dompurify'
import katex from 'katex'

declare const KATEX_CSS_PATH: string

let isSheetAdded = false

/** Links KaTeX's stylesheet (a hashed file with its fonts, scripts/build-ui.ts) once. */
function addKatexSheet(): void {
  if (isSheetAdded) return
  isSheetAdded = true
  const link = document.createElement('link')
  link.rel = 'stylesheet'
  link.href = KATEX_CSS_PATH
  document.head.append(link)
}

const purifyKatex = { IN_PLACE: true, USE_PROFILES: { html: true, svg: true }, FORBID_TAGS: ['a', 'style', 'foreignObject', 'image', 'use'], FORBID_ATTR: ['href', 'xlink:href', 'id'] }

/** Renders every `.math` element under `root` not drawn yet. */
export function renderMathIn(root: HTMLElement): void {
  const pending = [...root.querySelectorAll<HTMLElement>('.math:not([data-drawn])')]
  if (pending.length === 0) return
  addKatexSheet()
  for (const element of pending) {
    element.dataset.drawn = ''
    const tex = element.textContent ?? ''
    const target = document.createElement('span')
    try {
      katex.render(tex, target, {
        displayMode: element.classList.contains('math-display'), output: 'html', throwOnError: true, trust: false,
        strict: 'ignore', maxSize: 20, maxExpand: 500,
      })
    } catch {
      element.classList.add('math-failed')
      element.title = 'This math could not be drawn; its source is shown.'
      continue
    }
    DOMPurify.sanitize(target, purifyKatex)
    element.replaceChildren(...target.childNodes)
    element.setAttribute('role', 'math')
    element.setAttribute('aria-label', tex)
  }
}
