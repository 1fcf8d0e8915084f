/**
 * Markdown for untrusted text (model output and user messages). Threat: a model can be prompted
 * into writing HTML or links that would run script, load outside resources or restyle the page.
 * So: raw HTML in the Markdown is shown as text, never parsed as HTML; the HTML marked produces is
 * then sanitised by DOMPurify (HTML profile only: no SVG or MathML, no style, no forms, no frames);
 * links keep only http(s), mailto, in-page and same-site paths and open with
 * rel="noopener noreferrer"; images load only from data: image URLs, never from another host.
 */
import DOMPurify from 'dompurify'
import { Marked, type Tokens } from 'marked'
import { highlightCode } from './highlight.ts'

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;')

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // note: the model's raw HTML is shown as the text it is, so nothing in it is ever parsed as markup.
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    code: ({ text, lang }: Tokens.Code) => {
      const language = (lang ?? '').trim().split(/\s+/)[0] ?? ''
      const highlighted = highlightCode(text, language)
      const label = language === '' ? '' : `<span class="code-lang">${escapeHtml(language)}</span>`
      return `<div class="code-block">${label}<pre><code class="hljs">${highlighted ?? escapeHtml(text)}</code></pre></div>`
    },
  },
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
