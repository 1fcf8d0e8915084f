/**
 * The storage figures of `npm run bench` alone, in the same order on one file-backed store: insert
 * rate, chat read, size, tree, list and search, then a chat read over HTTP. Run with
 * `bun bench/storage.ts` to compare an engine change before and after.
 */
import { openBenchStore } from './bench-store.ts'
import { chatHttpReadRows, measureChatHttpRead } from './chat-http-read.ts'
import { chatListSearchRows, measureChatListSearch } from './chat-list-search.ts'
import { chatReadRows, measureChatRead } from './chat-read.ts'
import { chatTreeRows, measureChatTree } from './chat-tree.ts'
import { databaseSizeRows, measureDatabaseSize } from './database-size.ts'
import { measureMessageInserts, messageInsertRows } from './message-inserts.ts'
import { formatTable } from './report.ts'

const bench = await openBenchStore()
try {
  const inserts = await measureMessageInserts(bench)
  const read = await measureChatRead(bench)
  const size = await measureDatabaseSize(bench, inserts.plaintextBytes + read.plaintextBytes)
  const tree = await measureChatTree(bench)
  const listSearch = await measureChatListSearch(bench)
  const httpRead = await measureChatHttpRead()
  console.log(formatTable([...messageInsertRows(inserts), ...chatReadRows(read), ...databaseSizeRows(size),
    ...chatTreeRows(tree), ...chatListSearchRows(listSearch), ...chatHttpReadRows(httpRead)]))
} finally {
  bench.remove()
}
