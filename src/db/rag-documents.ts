/**
 * Documents ready for retrieval: the extracted text of one file (or of text given directly), cut
 * into chunks, each with its embedding. Format: a chunk's `content` is sealed JSON
 * `{ text, start }` (start: its offset in the document's text), binding `documentId/position` in
 * its AAD. Embeddings are sealed in blocks of EMBEDDING_BLOCK consecutive chunks, each block the
 * vectors packed as little-endian float32 one after the other (4 bytes a dimension), binding
 * `documentId/block`: blocks fill SQLite's pages (a lone 3 KB vector would waste a quarter of
 * its page) and an index opens one block per 64 chunks. A chunk or block moved to another
 * document or place fails to open.
 * Everything is sealed under the owner's data key: deleting the user (or their key) leaves nothing
 * readable. The document's name is sealed; the model and dimension are plain, as the index needs
 * them before it opens anything.
 */
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const documentTable = sealedTable('rag_document', { name: 'text' })
const chunkTable = sealedTable('rag_chunk', { content: 'json' })
const embeddingTable = sealedTable('rag_embedding', { vectors: 'bytes' })

/** Chunks whose embeddings are sealed together. */
export const EMBEDDING_BLOCK = 64

export type RagDocumentId = string & { readonly brand: 'RagDocumentId' }

export type RagDocument = {
  id: RagDocumentId; userId: UserId; fileId: string | null; name: string
  model: string; dimensions: number; chunkCount: number; createdAt: number
}

/** One chunk's text and where it starts in the document's text. */
export type ChunkContent = { text: string; start: number }

type DocumentRow = {
  id: string; user_id: string; file_id: string | null; name: Uint8Array; model: string; dimensions: number; chunk_count: number; created_at: number
}

const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Reads a document id from outside input, or null when it can't be one. */
export const parseRagDocumentId = (raw: string): RagDocumentId | null => (idPattern.test(raw) ? (raw as RagDocumentId) : null)

const chunkRowId = (documentId: string, position: number) => `${documentId}/${position}`

const IN_LIST_MAX = 8192

export function createRagDocumentRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number) {
  const selectDocument = (id: string, owner: string) => sql.get<DocumentRow>('SELECT * FROM rag_document WHERE id = ? AND user_id = ?', id, owner)
  const selectForFile = (fileId: string, owner: string) => sql.get<DocumentRow>('SELECT * FROM rag_document WHERE file_id = ? AND user_id = ?', fileId, owner)
  const deleteDocument = (id: string, owner: string) => sql.run('DELETE FROM rag_document WHERE id = ? AND user_id = ?', id, owner)

  const toDocument = async (row: DocumentRow): Promise<RagDocument> => ({
    id: row.id as RagDocumentId, userId: row.user_id as UserId, fileId: row.file_id,
    name: documentTable.openColumn('name', row.id, row.name, await keys.ringFor(row.user_id))!,
    model: row.model, dimensions: row.dimensions, chunkCount: row.chunk_count, createdAt: row.created_at,
  })

  return {
    /**
     * Stores a document and its chunks in one transaction, replacing the owner's earlier document
     * of the same file. Every embedding must have `dimensions` values.
     */
    async saveDocument(owner: UserId, input: { fileId: string | null; name: string; model: string; dimensions: number }, chunks: readonly { content: ChunkContent; embedding: Float32Array }[]): Promise<RagDocument> {
      const id = crypto.randomUUID()
      const ring = await keys.ringFor(owner)
      // note: sealed before the transaction opens, so it holds the write lock only for the inserts.
      chunks.forEach((chunk) => {
        if (chunk.embedding.length !== input.dimensions) throw new Error('An embedding has the wrong dimension')
      })
      const sealedChunks = chunks.map((chunk, position) => chunkTable.sealColumn('content', chunkRowId(id, position), chunk.content, ring)!)
      const sealedBlocks: Uint8Array[] = []
      for (let block = 0; block * EMBEDDING_BLOCK < chunks.length; block++) {
        const members = chunks.slice(block * EMBEDDING_BLOCK, (block + 1) * EMBEDDING_BLOCK)
        const packed = new Float32Array(members.length * input.dimensions)
        members.forEach((chunk, i) => packed.set(chunk.embedding, i * input.dimensions))
        sealedBlocks.push(embeddingTable.sealColumn('vectors', chunkRowId(id, block), new Uint8Array(packed.buffer), ring)!)
      }
      return sql.transaction(async () => {
        if (input.fileId !== null) {
          const earlier = await selectForFile(input.fileId, owner)
          if (earlier !== null) await deleteDocument(earlier.id, owner)
        }
        await sql.run('INSERT INTO rag_document (id, user_id, file_id, name, model, dimensions, chunk_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          id, owner, input.fileId, documentTable.sealColumn('name', id, input.name, ring)!, input.model, input.dimensions, chunks.length, now())
        for (const [position, content] of sealedChunks.entries()) await sql.run('INSERT INTO rag_chunk (document_id, position, content) VALUES (?, ?, ?)', id, position, content)
        for (const [block, vectors] of sealedBlocks.entries()) await sql.run('INSERT INTO rag_embedding (document_id, block, vectors) VALUES (?, ?, ?)', id, block, vectors)
        return await toDocument((await selectDocument(id, owner))!)
      })
    },
    async findDocumentForUser(owner: UserId, id: RagDocumentId): Promise<RagDocument | null> {
      const row = await selectDocument(id, owner)
      return row === null ? null : toDocument(row)
    },
    /** The owner's document made from this file, or null when the file was not processed. */
    async findDocumentForFile(owner: UserId, fileId: string): Promise<RagDocument | null> {
      const row = await selectForFile(fileId, owner)
      return row === null ? null : toDocument(row)
    },
    /** The documents made from any of these files, whoever owns them (a knowledge base's files; the caller checked access to the base). */
    async listDocumentsForFiles(fileIds: readonly string[]): Promise<RagDocument[]> {
      const rows: DocumentRow[] = []
      // note: each list padded (with a repeat) to a power of two, so a few prepared statements serve any length;
      // past IN_LIST_MAX ids (more than SQLite binds at once) in several lists.
      for (let at = 0; at < fileIds.length; at += IN_LIST_MAX) {
        const part = fileIds.slice(at, at + IN_LIST_MAX)
        let length = 8
        while (length < part.length) length *= 2
        const padded = Array.from({ length }, (_, i) => part[Math.min(i, part.length - 1)]!)
        rows.push(...await sql.all<DocumentRow>(`SELECT * FROM rag_document WHERE file_id IN (${padded.map(() => '?').join(', ')})`, ...padded))
      }
      return Promise.all(rows.map(toDocument))
    },
    async deleteDocumentForUser(owner: UserId, id: RagDocumentId): Promise<boolean> {
      return (await deleteDocument(id, owner)).changes > 0
    },
    /** Opens every embedding of a document into one row-major matrix (chunkCount × dimensions). */
    async readEmbeddings(document: RagDocument): Promise<Float32Array> {
      const ring = await keys.ringFor(document.userId)
      const matrix = new Float32Array(document.chunkCount * document.dimensions)
      for (const row of await sql.all<{ block: number; vectors: Uint8Array }>('SELECT block, vectors FROM rag_embedding WHERE document_id = ? ORDER BY block', document.id)) {
        const bytes = embeddingTable.openColumn('vectors', chunkRowId(document.id, row.block), row.vectors, ring)!
        // note: a copy, as the opened bytes need not be aligned for a Float32Array view.
        matrix.set(new Float32Array(new Uint8Array(bytes).buffer), row.block * EMBEDDING_BLOCK * document.dimensions)
      }
      return matrix
    },
    /** Opens one chunk's text, or null when the document has no such chunk. */
    async readChunk(document: RagDocument, position: number): Promise<ChunkContent | null> {
      const row = await sql.get<{ content: Uint8Array }>('SELECT content FROM rag_chunk WHERE document_id = ? AND position = ?', document.id, position)
      return row === null ? null : chunkTable.openColumn('content', chunkRowId(document.id, position), row.content, await keys.ringFor(document.userId)) as ChunkContent
    },
    /** Opens every chunk's text of a document, in order (one query, for building an index). */
    async readChunks(document: RagDocument): Promise<ChunkContent[]> {
      const ring = await keys.ringFor(document.userId)
      const rows = await sql.all<{ position: number; content: Uint8Array }>('SELECT position, content FROM rag_chunk WHERE document_id = ? ORDER BY position', document.id)
      return rows.map((row) => chunkTable.openColumn('content', chunkRowId(document.id, row.position), row.content, ring) as ChunkContent)
    },
  }
}

export type RagDocumentRepo = ReturnType<typeof createRagDocumentRepo>
