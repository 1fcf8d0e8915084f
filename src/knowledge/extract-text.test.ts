import { describe, expect, test } from 'bun:test'
import { makeDeepJson, makeDocx, makePdf, makeZipBombDocx } from '../../test/helpers/make-documents.ts'
import type { ExtractionLimits } from '../config/rag-variables.ts'
import { detectDocumentKind } from './document-kind.ts'
import { createTextExtractor } from './extract-text.ts'

const limits: ExtractionLimits = { timeoutMs: 20_000, maxPages: 50, maxDecompressedBytes: 8 * 1024 * 1024, maxChars: 1_000_000, maxNesting: 100 }
const extractor = createTextExtractor(limits)
const encode = (text: string) => new TextEncoder().encode(text)

async function extract(bytes: Uint8Array, name: string, mediaType: string | null = null) {
  const kind = detectDocumentKind(bytes, name, mediaType)
  if (kind === null) return { ok: false as const, reason: 'unsupported' as const }
  return extractor.extract(bytes, kind)
}

describe('text extraction in a worker', () => {
  test.each([
    ['plain text', encode('The heron nests by the river.'), 'notes.txt', 'The heron nests by the river.'],
    ['markdown', encode('# Heron\n\nThe heron *nests* by the river.'), 'notes.md', 'The heron *nests* by the river.'],
    ['csv', encode('bird,place\nheron,river\n'), 'birds.csv', 'heron,river'],
    ['json', encode('{"bird":"heron","place":["river"]}'), 'birds.json', '"heron"'],
    ['unicode text', encode('Le héron niche près de la rivière. 鷺'), 'fr.txt', 'héron'],
  ])('%s', async (_, bytes, name, expected) => {
    const result = await extract(bytes, name)
    expect(result.ok).toBe(true)
    if (result.ok) expect(result.text).toContain(expected)
  })

  test('handed-over bytes move to the worker when they fill their own buffer, with the same text; a view into a larger buffer is copied', async () => {
    const text = 'The heron nests by the river.\n'.repeat(1000)
    const copied = await extractor.extract(encode(text), 'text')
    const owned = encode(text)
    const moved = await extractor.extract(owned, 'text', { handOver: true })
    expect(moved).toEqual(copied)
    expect(owned.byteLength).toBe(0)
    const shared = new Uint8Array(encode(text).length + 10)
    shared.set(encode(text), 5)
    const view = shared.subarray(5, 5 + encode(text).length)
    expect(await extractor.extract(view, 'text', { handOver: true })).toEqual(copied)
    expect(view.byteLength).toBe(encode(text).length)
  })

  test('html keeps the visible text and drops scripts, styles and comments', async () => {
    const html = '<html><head><style>.x{color:red}</style><script>var secret = "SCRIPTMARK"</script></head><body><h1>Heron</h1><p>Nests by the &amp; river&#33;</p><!-- COMMENTMARK --></body></html>'
    const result = await extract(encode(html), 'page.html')
    expect(result).toMatchObject({ ok: true })
    if (!result.ok) return
    expect(result.text).toContain('Heron')
    expect(result.text).toContain('Nests by the & river!')
    expect(result.text).not.toContain('SCRIPTMARK')
    expect(result.text).not.toContain('color:red')
    expect(result.text).not.toContain('COMMENTMARK')
  })

  test('a PDF yields the text of every page', async () => {
    const result = await extract(makePdf(['First page about herons.', 'Second page about (kingfishers).']), 'birds.pdf')
    expect(result).toMatchObject({ ok: true, pages: 2 })
    if (!result.ok) return
    expect(result.text).toContain('First page about herons.')
    expect(result.text).toContain('Second page about (kingfishers).')
  })

  test('a DOCX yields its paragraphs', async () => {
    const result = await extract(makeDocx(['Herons wade.', 'Kingfishers dive.']), 'birds.docx')
    expect(result).toMatchObject({ ok: true })
    if (result.ok) expect(result.text).toContain('Kingfishers dive.')
  })

  test.each([
    ['a zip bomb DOCX', () => makeZipBombDocx(24 * 1024 * 1024), 'bomb.docx', 'too_large'],
    ['a PDF with more pages than allowed', () => makePdf(Array.from({ length: 51 }, (_, i) => `page ${i}`)), 'many.pdf', 'too_many_pages'],
    ['a PDF cut in half', () => makePdf(['Some text here.']).subarray(0, 120), 'cut.pdf', 'unreadable'],
    ['a PDF that is garbage after its header', () => encode('%PDF-1.7\n' + 'x'.repeat(5000)), 'junk.pdf', 'unreadable'],
    ['deeply nested JSON', () => encode(makeDeepJson(100_000)), 'deep.json', 'too_deep'],
    ['deeply nested HTML', () => encode('<div>'.repeat(50_000)), 'deep.html', 'too_deep'],
    ['text over the character limit', () => encode('a'.repeat(1_000_001)), 'huge.txt', 'too_large'],
    ['text that is not UTF-8', () => new Uint8Array([0x68, 0xff, 0xfe, 0x69]), 'bad.txt', 'unreadable'],
    ['a zip that is not a DOCX', () => makeDocx(['x']), 'archive.zip', 'unsupported'],
    ['binary bytes', () => new Uint8Array([1, 2, 0, 3]), 'blob.bin', 'unsupported'],
    ['a DOCX that is a broken zip', () => makeDocx(['text']).subarray(0, 60), 'broken.docx', 'unreadable'],
  ])('%s is refused', async (_, make, name, reason) => {
    expect(await extract(make(), name)).toEqual({ ok: false, reason: reason as never })
  }, 30_000)

  test('a PDF whose page tree claims a million pages is read as the pages it has', async () => {
    expect(await extract(makePdf(['only one'], { claimedPageCount: 1_000_000 }), 'claims.pdf')).toEqual({ ok: true, text: 'only one', pages: 1 })
  })

  test('a document past the time limit is refused as timeout, and the next one still works', async () => {
    const slow = createTextExtractor({ ...limits, timeoutMs: 1 })
    expect(await slow.extract(makePdf(['a page']), 'pdf')).toEqual({ ok: false, reason: 'timeout' })
    expect(await extractor.extract(encode('still fine'), 'text')).toEqual({ ok: true, text: 'still fine', pages: null })
  })
})
