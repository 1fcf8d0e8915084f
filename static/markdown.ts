/**
 * Markdown for untrusted text (model output and user messages). Threat: a model can be prompted
 * into writing HTML or links that would run script, load outside resources or restyle the page.
 * So: raw HTML in the Markdown is shown as text, never parsed as HTML; the HTML marked produces is
 * then sanitised by DOMPurify (HTML profile only: no SVG or MathML, no style, no forms, no frames);
 * links keep only http(s), mailto, in-page and same-site paths and open with
 * rel="noopener noreferrer"; images load only from data: image URLs, never from another host.
 * Math (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) and ```mermaid blocks come out as their source text in
 * marked elements (`.math`, `.mermaid-block`); math-render.ts and mermaid-render.ts, loaded only
 * when a message has one, draw them after the sanitised HTML is placed.
 */
import DOMPurify from 'dompurify'
import { Marked, type TokenizerAndRendererExtension, type Tokens } from 'marked'
import { highlightCode } from './highlight.ts'

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;')

type MathToken = Tokens.Generic & { text: string; display: boolean }

const mathHtml = (text: string, display: boolean) =>
  display ? `<div class="math math-display">${escapeHtml(text)}</div>` : `<span class="math math-inline">${escapeHtml(text)}</span>`

// note: a `$` opens inline math only before a non-space and closes only after one, and not before a
// digit, so "$5 and $10" stays text (Pandoc's rule).
const INLINE_MATH = [
  { pattern: /^\$\$(?!\$)([^$]+?)\$\$/, display: true },
  { pattern: /^\$(?![\s$])((?:\\.|[^\\$\n])+?)(?<![\s\\])\$(?![\d$])/, display: false },
  { pattern: /^\\\(([\s\S]+?)\\\)/, display: false },
  { pattern: /^\\\[([\s\S]+?)\\\]/, display: true },
]

const inlineMath: TokenizerAndRendererExtension = {
  name: 'inlineMath',
  level: 'inline',
  start: (src: string) => {
    const at = src.search(/\$|\\[([]/)
    return at < 0 ? undefined : at
  },
  tokenizer(src: string): MathToken | undefined {
    for (const { pattern, display } of INLINE_MATH) {
      const match = pattern.exec(src)
      if (match !== null && match[1]!.trim() !== '') return { type: 'inlineMath', raw: match[0], text: match[1]!.trim(), display }
    }
    return undefined
  },
  renderer: (token) => mathHtml((token as MathToken).text, (token as MathToken).display),
}

const blockMath: TokenizerAndRendererExtension = {
  name: 'blockMath',
  level: 'block',
  start: (src: string) => {
    const at = src.search(/^ {0,3}(?:\$\$|\\\[)/m)
    return at < 0 ? undefined : at
  },
  tokenizer(src: string): MathToken | undefined {
    const match = /^ {0,3}(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n+|$)/.exec(src)
    const text = (match?.[1] ?? match?.[2])?.trim()
    if (match === null || text === undefined || text === '') return undefined
    return { type: 'blockMath', raw: match[0], text, display: true }
  },
  renderer: (token) => `${mathHtml((token as MathToken).text, true)}\n`,
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // note: the model's raw HTML is shown as the text it is, so nothing in it is ever parsed as markup.
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    code: ({ text, lang }: Tokens.Code) => {
      const language = (lang ?? '').trim().split(/\s+/)[0] ?? ''
      if (language.toLowerCase() === 'mermaid') {
        return `<div class="code-block mermaid-block"><span class="code-lang">mermaid</span><pre><code>${escapeHtml(text)}</code></pre></div>`
      }
      const highlighted = highlightCode(text, language)
      const label = language === '' ? '' : `<span class="code-lang">${escapeHtml(language)}</span>`
      return `<div class="code-block">${label}<pre><code class="hljs">${highlighted ?? escapeHtml(text)}</code></pre></div>`
    },
  },
  extensions: [blockMath, inlineMath],
})

const SAFE_LINK = /^(?:https?:|mailto:|#|\/(?!\/))/i
const SAFE_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp);base64,/i

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href')
    if (href !== null && !SAFE_LINK.test(href.trim())) node.removeAttribute('href')
    if (node.hasAttribute('href')) {
      node.setAttribute('target', '_blank')
      node.setAttribute('rel', 'noopener noreferrer')
    }
  }
  if (node.tagName === 'IMG') {
    const src = node.getAttribute('src')
    if (src === null || !SAFE_IMAGE.test(src.trim())) {
      node.removeAttribute('src')
      node.setAttribute('data-blocked', 'outside image')
    }
  }
})

const purifyConfig = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'frame', 'object', 'embed', 'video', 'audio', 'source', 'picture', 'link', 'meta', 'base'],
  FORBID_ATTR: ['style', 'srcset', 'formaction', 'action', 'ping', 'background', 'poster', 'id', 'name'],
  ALLOW_DATA_ATTR: false,
}

/** Renders untrusted Markdown to sanitised HTML, safe to assign to innerHTML. */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source) as string
  return DOMPurify.sanitize(html, purifyConfig) as unknown as string
}
