/**
 * Draws ```mermaid blocks as diagrams; its own chunk, imported only when a finished message has
 * one. Threat: the diagram source is untrusted model output. Mermaid runs with
 * `securityLevel: 'strict'` (no click handlers, labels as text), its SVG is sanitised with DOMPurify
 * (SVG profile, no foreignObject, no links), and it is shown as an <img> from a data: URL: an
 * image runs no script and loads nothing, whatever its markup says.
 *
 * note: while Mermaid lays a diagram out it sets style attributes, adds a <style> element and
 * parses markup that holds both (DOMPurify, on its labels and its SVG): the CSP's `style-src 'self'`
 * refuses each, and reports it (in Chromium, even in a DOMParser document). For the length of one
 * render, style attributes go through the CSSOM (which the CSP allows, and which serialises the
 * same), a new <style> element is made in a namespace that no browser styles, and markup parsed
 * carries its styles and handlers under data- names; the sheet and styles come back in the image.
 */
import DOMPurify from 'dompurify'
import mermaid from 'mermaid'

const INERT_NAMESPACE = 'urn:enclave:inert'
/** Diagrams drawn, by theme and source, so a message shown again is not laid out again; the oldest go first. */
const drawn = new Map<string, string>()
const MAX_DRAWN = 50
let queue: Promise<void> = Promise.resolve()
let counter = 0

/** Markup with its style sheets, <base> elements and style and handler attributes renamed, so parsing it applies and reports nothing. */
const neutralise = (markup: string) => markup
  .replace(/<base\b/gi, '<enclave-base')
  .replace(/<style\b[^>]*>/gi, '<desc data-enclave-css="">').replace(/<\/style\s*>/gi, '</desc>')
  .replace(/(<[^<>]*?\s)(style|on[a-z]+)(\s*=)/gi, '$1data-enclave-$2$3')

/** Runs `render` with styles kept out of the CSP's way (see the header). */
async function withStylesThroughCssom<T>(render: () => Promise<T>): Promise<T> {
  const { setAttribute, setAttributeNS } = Element.prototype
  const { createElement } = Document.prototype
  const { parseFromString } = DOMParser.prototype
  const isStyle = (name: string) => name.toLowerCase() === 'style'
  Element.prototype.setAttribute = function (this: Element, name: string, value: string) {
    if (isStyle(name) && 'style' in this) return void ((this as HTMLElement).style.cssText = String(value))
    return setAttribute.call(this, name, value)
  }
  Element.prototype.setAttributeNS = function (this: Element, namespace: string | null, name: string, value: string) {
    if (namespace === null && isStyle(name) && 'style' in this) return void ((this as HTMLElement).style.cssText = String(value))
    return setAttributeNS.call(this, namespace, name, value)
  }
  Document.prototype.createElement = function (this: Document, tagName: string, options?: ElementCreationOptions) {
    return isStyle(tagName) ? this.createElementNS(INERT_NAMESPACE, 'style') : createElement.call(this, tagName, options)
  } as Document['createElement']
  DOMParser.prototype.parseFromString = function (this: DOMParser, markup: string, type: DOMParserSupportedType) {
    return parseFromString.call(this, neutralise(String(markup)), type)
  }
  try {
    return await render()
  } finally {
    Object.assign(Element.prototype, { setAttribute, setAttributeNS })
    Object.assign(Document.prototype, { createElement })
    Object.assign(DOMParser.prototype, { parseFromString })
  }
}

/** The sanitised diagram as a data: URL of an SVG image, sized from its viewBox. */
function toImageUrl(svgMarkup: string): string {
  const parsed = new DOMParser().parseFromString(neutralise(svgMarkup), 'text/html')
  const svg = parsed.querySelector('svg')
  if (svg === null) throw new Error('Mermaid drew no SVG')
  DOMPurify.sanitize(svg, {
    IN_PLACE: true, USE_PROFILES: { svg: true, svgFilters: true }, ALLOW_DATA_ATTR: false, ADD_ATTR: ['data-enclave-css', 'data-enclave-style'],
    FORBID_TAGS: ['foreignObject', 'a', 'image', 'script', 'style'], FORBID_ATTR: ['href', 'xlink:href'],
  })
  const box = svg.getAttribute('viewBox')?.split(/[\s,]+/).map(Number)
  if (box !== undefined && box.length === 4 && box.every(Number.isFinite)) {
    svg.setAttribute('width', String(Math.ceil(box[2]!)))
    svg.setAttribute('height', String(Math.ceil(box[3]!)))
  }
  svg.removeAttribute('data-enclave-style')
  // note: the renamed sheet and styles come back here, in the image's own markup (no script runs in an image).
  const markup = new XMLSerializer().serializeToString(svg)
    .replace(/<desc([^>]*?) data-enclave-css=""([^>]*)>([^<]*)<\/desc>/g, '<style$1$2>$3</style>')
    .replace(/ data-enclave-style="/g, ' style="')
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(markup)}`
}

async function drawDiagram(block: HTMLElement, source: string): Promise<void> {
  const theme = document.documentElement.dataset.theme === 'dark' ? 'dark' : 'default'
  const key = `${theme}\n${source}`
  let url = drawn.get(key)
  if (url === undefined) {
    mermaid.initialize({
      startOnLoad: false, securityLevel: 'strict', theme, suppressErrorRendering: true, maxTextSize: 50_000, maxEdges: 500,
      htmlLabels: false, flowchart: { htmlLabels: false }, fontFamily: 'system-ui, sans-serif',
    })
    const { svg } = await withStylesThroughCssom(() => mermaid.render(`diagram-${++counter}`, source))
    url = toImageUrl(svg)
    drawn.set(key, url)
    if (drawn.size > MAX_DRAWN) drawn.delete(drawn.keys().next().value!)
  }
  if (!block.isConnected) return
  const image = document.createElement('img')
  image.className = 'diagram'
  image.alt = `Diagram: ${source.trim().split('\n')[0]?.slice(0, 120) ?? ''}`
  image.src = url
  block.classList.add('drawn')
  block.querySelector('pre')?.before(image)
}

/** Draws every `.mermaid-block` under `root` not drawn yet, one diagram at a time; one that fails keeps its source. */
export function renderDiagramsIn(root: HTMLElement): Promise<void> {
  for (const block of root.querySelectorAll<HTMLElement>('.mermaid-block:not([data-drawn])')) {
    block.dataset.drawn = ''
    const source = block.querySelector('code')?.textContent ?? ''
    queue = queue.then(() => drawDiagram(block, source)).catch(() => {
      block.classList.add('diagram-failed')
      block.querySelector('pre')?.setAttribute('title', 'This diagram could not be drawn; its source is shown.')
    })
  }
  return queue
}
