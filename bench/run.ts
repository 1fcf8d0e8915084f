/**
 * Benchmarks, run by `npm run bench`: one file-backed store in a fresh temp directory, measured for
 * field-layer cost, insert rate (and the async engine's group commit), read time and size; then the
 * cost of authentication, then key rotation and backups, then a 100 MB upload, then several instances. Each figure is
 * printed against its target, each row named for what it measures through (public API, layer,
 * binary, storage, browser), and the reference table compares public API with public API. It
 * prints figures and never fails on a slow machine: the exit code is 0 unless something crashes.
 */
import { cpus } from 'node:os'
import { accessOverheadRows, measureAccessOverhead } from './access-overhead.ts'
import { authOverheadRows, measureAuthOverhead } from './auth-overhead.ts'
import { openBenchStore } from './bench-store.ts'
import { chatHttpReadRows, measureChatHttpRead } from './chat-http-read.ts'
import { chatListSearchRows, measureChatListSearch } from './chat-list-search.ts'
import { chatReadRows, measureChatRead } from './chat-read.ts'
import { chatTreeRows, measureChatTree } from './chat-tree.ts'
import { databaseSizeRows, measureDatabaseSize } from './database-size.ts'
import { groupCommitRows, measureGroupCommit } from './engine-group-commit.ts'
import { fieldLayerRows, measureFieldLayer } from './field-layer.ts'
import { keyLifecycleRows, measureKeyLifecycle } from './key-lifecycle.ts'
import { measureMessageInserts, messageInsertRows } from './message-inserts.ts'
import { nowMs } from './measure.ts'
import { formatReference } from './reference.ts'
import { formatNumber, formatSummary, formatTable, labelled } from './report.ts'
import { measureRequestRate, requestRateRows } from './request-rate.ts'

const started = nowMs()
console.log(`Enclave benchmark: Bun ${Bun.version}, ${process.platform}/${process.arch}, ` +
  `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`)

const bench = await openBenchStore()
try {
  console.log(`store: ${bench.dataDir} (file-backed, WAL)\n`)
  const fieldLayer = measureFieldLayer(bench.store.dataKeys.keysForOwner(bench.owner))
  const inserts = await measureMessageInserts(bench)
  // note: the async engine's group commit, in database files of its own beside the store's.
  const groupCommit = await measureGroupCommit()
  const read = await measureChatRead(bench)
  const size = await measureDatabaseSize(bench, inserts.plaintextBytes + read.plaintextBytes)
  // note: after the size figure, which counts only what the parts above wrote.
  const tree = await measureChatTree(bench)
  // note: both engines through the SqlEngine contract, PostgreSQL on a server started for the run.
  const { enginePostgresRows, measureEnginePostgres } = await import('./engine-postgres.ts')
  const engines = await measureEnginePostgres()

  const auth = await measureAuthOverhead()
  const access = await measureAccessOverhead()
  const httpRead = await measureChatHttpRead()
  // note: the compiled binary (npm run build) against a bare compiled Bun.serve, over loopback.
  const requestRate = await measureRequestRate()
  // note: the socket figures run Enclave, the Ollama stand-in and the clients as three fresh processes, on the same cores.
  const { measureSocketStreamingApart, socketStreamingRows } = await import('./socket-streaming.ts')
  const socket = await measureSocketStreamingApart()
  const { measureSocketRegenerateApart, socketRegenerateRows } = await import('./socket-regenerate.ts')
  const regenerate = await measureSocketRegenerateApart()
  // note: socket turns and REST saves at 10 / 1,000 / 2,000 messages, the stand-in in a process of its own.
  const { measureChatDepthApart, chatDepthRows } = await import('./chat-depth.ts')
  const depth = await measureChatDepthApart()
  // note: fresh processes of the compiled binary (dist/enclave), the first turn after each start against the later ones.
  // note: each in a fresh process of its own, as the other rows that time single turns.
  const { measureFirstTurnApart, firstTurnRows } = await import('./first-turn.ts')
  const firstTurn = await measureFirstTurnApart()
  // note: and a client that holds its token and asks as soon as its socket opens, before the turn warm-up.
  const firstTurnAtOnce = await measureFirstTurnApart('at-once')
  const lifecycle = await measureKeyLifecycle()
  // note: documents and retrieval: a 100-page PDF, then 100,000 sealed chunks in a store of their own.
  const { knowledgeRows, measureKnowledge } = await import('./knowledge.ts')
  const knowledge = await measureKnowledge()
  // note: a 100 MB upload into the compiled binary, its memory read from /proc meanwhile.
  const { fileUploadRows, measureFileUpload } = await import('./file-upload.ts')
  const upload = await measureFileUpload()
  // note: the UI figures drive headless Chromium against the compiled binary (rebuilt first).
  const { measureUi, uiRows } = await import('./ui.ts')
  const ui = await measureUi()
  // note: every row names what it measures through, so like is compared with like (labelled keeps a name that already says).
  const [authRow, hashRow] = authOverheadRows(auth)
  const rows = [
    ...labelled('layer', [...fieldLayerRows(fieldLayer), ...messageInsertRows(inserts), ...groupCommitRows(groupCommit), ...chatReadRows(read), ...chatTreeRows(tree), ...enginePostgresRows(engines)]),
    ...labelled('public API', chatHttpReadRows(httpRead)), ...labelled('storage', databaseSizeRows(size)),
    ...labelled('public API', [authRow!]), ...labelled('layer', [hashRow!, ...accessOverheadRows(access)]), ...labelled('public API', requestRateRows(requestRate)),
    ...labelled('layer', chatListSearchRows(await measureChatListSearch(bench))),
    ...labelled('public API', [...socketStreamingRows(socket), ...socketRegenerateRows(regenerate), ...chatDepthRows(depth), ...firstTurnRows(firstTurn), ...firstTurnRows(firstTurnAtOnce, 'at-once')]),
    ...labelled('layer', [...keyLifecycleRows(lifecycle), ...knowledgeRows(knowledge)]), ...labelled('public API', fileUploadRows(upload)), ...labelled('browser', uiRows(ui)),
  ]
  // note: several compiled instances on one PostgreSQL and one Redis behind nginx, the store on PostgreSQL beside SQLite.
  const { measureSeveralInstances, severalInstancesRows } = await import('./several-instances.ts')
  rows.push(...labelled('public API', severalInstancesRows(await measureSeveralInstances())))
  // note: the footprint figures start dist/enclave (npm run build) as separate processes.
  const { footprintRows, formatBinarySize, measureFootprint } = await import('./footprint.ts')
  const footprint = await measureFootprint()
  rows.push(...labelled('binary', footprintRows(footprint)))
  console.log(formatTable(rows))
  console.log(formatBinarySize(footprint))
  console.log('\nfor context, a comparable product, public API against public API:')
  console.log(formatReference({
    turnMsAt2000: depth.turnWallMs.at(-1)!,
    httpReadMs: httpRead.p50Ms,
    sizeRatio: size.databaseBytes / size.plaintextBytes,
  }))
  console.log(`\nsummary (${formatNumber((nowMs() - started) / 1000, 1)} s):`)
  console.log(formatSummary(rows))
} finally {
  bench.remove()
}
