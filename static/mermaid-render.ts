/**
 * Draws ```mermaid blocks as diagrams; its own chunk, imported only when a finished message has
 * one. Threat: the diagram source is untrusted model output. Mermaid runs with
 * `securityLevel: 'strict'` (no click handlers, labels as text), its SVG is sanitised with DOMPurify
 * (SVG profile, no foreignObject, no links), and it is shown as an <img> from a data: URL: an
 * image runs no script and loads nothing, whatever its markup says.
 *
 * note: while Mermaid lays a diagram out it sets style attributes and adds a <style> element, both
 * of which the CSP's `style-src 'self'` refuses (and reports). For the length of one render,
 * style attributes go through the CSSOM (which the CSP allows, and which serialises the same) and a
 * new <style> element gets an inert type; the sheet is made live again in the image.
 */
import DOMPurify from 'dompurify'
import mermaid from 'mermaid'

const INERT_STYLE_TYPE = 'text/x-enclave-inert'
const drawn = new Map<string, string>()
let queue: Promise<void> = Promise.resolve()
let counter = 0

/** Runs `render` with style attributes set through the CSSOM and new <style> elements inert. */
async function withStylesThroughCssom<T>(render: () => Promise<T>): Promise<T> {
  const { setAttribute, setAttributeNS } = Element.prototype
  const { createElement, createElementNS } = Document.prototype
  const isStyle = (name: string) => name.toLowerCase() === 'style'
  Element.prototype.setAttribute = function (this: Element, name: string, value: string) {
    if (isStyle(name) && 'style' in this) return void ((this as HTMLElement).style.cssText = String(value))
    return setAttribute.call(this, name, value)
  }
  Element.prototype.setAttributeNS = function (this: Element, namespace: string | null, name: string, value: string) {
    if (namespace === null && isStyle(name) && 'style' in this) return void ((this as HTMLElement).style.cssText = String(value))
    return setAttributeNS.call(this, namespace, name, value)
  }
  const inert = <E extends Element>(element: E) => {
    if (element.localName === 'style') setAttribute.call(element, 'type', INERT_STYLE_TYPE)
    return element
  }
  Document.prototype.createElement = function (this: Document, ...args: Parameters<Document['createElement']>) {
    return inert(createElement.apply(this, args))
  } as Document['createElement']
  Document.prototype.createElementNS = function (this: Document, ...args: [string | null, string]) {
    return inert(createElementNS.apply(this, args as never))
  } as Document['createElementNS']
  try {
    return await render()
  } finally {
    Object.assign(Element.prototype, { setAttribute, setAttributeNS })
    Object.assign(Document.prototype, { createElement, createElementNS })
  }
}

/** The sanitised diagram as a data: URL of an SVG image, sized from its viewBox. */
function toImageUrl(svgMarkup: string): string {
  const parsed = new DOMParser().parseFromString(svgMarkup, 'text/html')
  const svg = parsed.querySelector('svg')
  if (svg === null) throw new Error('Mermaid drew no SVG')
  DOMPurify.sanitize(svg, {
    IN_PLACE: true, USE_PROFILES: { svg: true, svgFilters: true }, ADD_TAGS: ['style'],
    FORBID_TAGS: ['foreignObject', 'a', 'image', 'script'], FORBID_ATTR: ['href', 'xlink:href'],
  })
  for (const style of svg.querySelectorAll('style')) style.removeAttribute('type')
  const box = svg.getAttribute('viewBox')?.split(/[\s,]+/).map(Number)
  if (box !== undefined && box.length === 4 && box.every(Number.isFinite)) {
    svg.setAttribute('width', String(Math.ceil(box[2]!)))
    svg.setAttribute('height', String(Math.ceil(box[3]!)))
  }
  svg.removeAttribute('style')
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`
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
