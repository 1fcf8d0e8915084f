/**
 * Cuts a document's text into chunks of at most `size` characters, neighbours sharing about
 * `overlap` characters, as Open WebUI's character splitter does: a cut falls on a paragraph break
 * if one lies in the chunk's second half, else on a line break, else on a space, else mid-word.
 * Each chunk keeps its start offset, so a citation can point into the document.
 */
import type { ChunkContent } from '../db/rag-documents.ts'

const breaks = ['\n\n', '\n', ' ']

/** The chunks of `text`, in order; empty when the text is only whitespace. */
export function chunkText(text: string, size: number, overlap: number): ChunkContent[] {
  const chunks: ChunkContent[] = []
  let start = skipSpace(text, 0)
  while (start < text.length) {
    let end = Math.min(start + size, text.length)
    if (end < text.length) end = cutPoint(text, start, end)
    const piece = text.slice(start, end).trimEnd()
    if (piece !== '') chunks.push({ text: piece, start })
    if (end >= text.length) break
    // note: the next chunk starts `overlap` back, at a word's start, and always past this one's start.
    let next = Math.max(end - overlap, start + 1)
    if (next < end) {
      const space = text.indexOf(' ', next)
      if (space !== -1 && space < end) next = space + 1
    }
    start = skipSpace(text, next)
  }
  return chunks
}

function cutPoint(text: string, start: number, end: number): number {
  const half = start + Math.floor((end - start) / 2)
  // note: the search stays within the chunk's second half: a lastIndexOf over the whole text would
  // make a long document without breaks cost quadratic time (seconds of a blocked server for 2 MB).
  const window = text.slice(half + 1, end)
  for (const separator of breaks) {
    const at = window.lastIndexOf(separator)
    if (at !== -1) return half + 1 + at + separator.length
  }
  return end
}

function skipSpace(text: string, from: number): number {
  let i = from
  while (i < text.length && /\s/.test(text[i]!)) i++
  return i
}
