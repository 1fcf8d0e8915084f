/**
 * Real documents made by tests: a valid PDF with known text on each page (one Helvetica text line
 * per line of text, with a correct cross-reference table), a DOCX (the smallest Word package
 * mammoth reads), and hostile variants: a zip bomb, a PDF whose page tree claims a million pages,
 * and a PDF cut off in the middle.
 */
import { strToU8, zipSync } from 'fflate'

/** A PDF with one page per entry of `pages`, each page's lines drawn top to bottom. */
export function makePdf(pages: readonly string[], options: { claimedPageCount?: number } = {}): Uint8Array {
  const objects: string[] = []
  const pageIds = pages.map((_, i) => 4 + i * 2)
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>'
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${options.claimedPageCount ?? pages.length} >>`
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'
  pages.forEach((text, i) => {
    const lines = text.split('\n').map((line) => `(${line.replace(/[\\()]/g, (c) => `\\${c}`)}) Tj T*`).join(' ')
    const stream = `BT /F1 11 Tf 14 TL 50 780 Td ${lines} ET`
    objects[pageIds[i]!] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[i]! + 1} 0 R >>`
    objects[pageIds[i]! + 1] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`
  })
  let body = '%PDF-1.4\n'
  const offsets: number[] = []
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = body.length
    body += `${id} 0 obj\n${objects[id]}\nendobj\n`
  }
  const xref = body.length
  body += `xref\n0 ${objects.length}\n0000000000 65535 f \n`
  for (let id = 1; id < objects.length; id++) body += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`
  body += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return new TextEncoder().encode(body)
}

const contentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`
const rootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`

/** A DOCX with one paragraph per entry. */
export function makeDocx(paragraphs: readonly string[], extra: Record<string, Uint8Array> = {}): Uint8Array {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const body = paragraphs.map((text) => `<w:p><w:r><w:t xml:space="preserve">${escape(text)}</w:t></w:r></w:p>`).join('')
  const document = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`
  return zipSync({
    '[Content_Types].xml': strToU8(contentTypes),
    _rels: { '.rels': strToU8(rootRels) },
    word: { 'document.xml': strToU8(document) },
    ...extra,
  }, { level: 9 })
}

/** A DOCX carrying an entry that unpacks to `bytes` of zeros (a few hundred KB compressed per GB). */
export function makeZipBombDocx(bytes: number): Uint8Array {
  return makeDocx(['bomb'], { 'word/media/padding.bin': new Uint8Array(bytes) })
}

/** JSON nested `depth` arrays deep. */
export function makeDeepJson(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}
