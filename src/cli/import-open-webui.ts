/**
 * `enclave import open-webui PATH/webui.db`: checks the whole source, then imports it in one
 * transaction; on SQLite with the server stopped, on PostgreSQL (DATABASE_URL) also beside running
 * instances, which see the new accounts once it commits.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { importOpenWebUi, type ImportReport } from '../db/import-open-webui.ts'
import { MalformedSourceError, openOpenWebUiDatabase } from '../db/open-webui-source.ts'
import { openCommandStore } from './command-store.ts'
import { checkHealth } from './healthcheck.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

export async function importFromOpenWebUi(config: Config, file: string, io: Output): Promise<number> {
  const path = resolve(process.cwd(), file)
  if (!existsSync(path)) {
    io.err(`enclave: ${path} does not exist.\n`)
    return 1
  }
  // note: on PostgreSQL the import is one transaction beside the running instances, as any write of theirs.
  if (config.postgres === null && (await checkHealth(config, 1000)).ok) {
    io.err('enclave: a server answers on this port: stop it before importing.\n')
    return 1
  }
  const opened = openOpenWebUiDatabase(path)
  if (!opened.ok) {
    io.err(`enclave: import refused (${opened.reason}): ${opened.detail} Nothing was imported.\n`)
    return 1
  }
  const store = await openCommandStore(config, { mayCreate: true })
  try {
    printImportSummary(path, await importOpenWebUi(store, opened.source), 'Open WebUI', io)
    return 0
  } catch (error) {
    return refuseChangedSource(error, io)
  } finally {
    opened.source.close()
    await store.close()
  }
}

/** Prints what an import did: the counts, a line per user handled otherwise, and how imported users sign in. */
export function printImportSummary(path: string, { counts, notes }: ImportReport, product: string, io: Output): void {
  io.out(`Imported from ${path}: ${counts.usersImported} users (${counts.usersAlreadyThere} already here, ${counts.usersConflicting} left out because their email belongs to another account), ` +
    `${counts.chatsImported} chats with ${counts.messagesImported} messages (${counts.chatsAlreadyThere} already here, ${counts.chatsLeftOut} of left-out users).\n`)
  for (const note of notes) io.out(`${note}\n`)
  if (counts.usersImported > 0) io.out(`Imported users sign in with their ${product} passwords; each is upgraded to argon2id at its first sign-in.\n`)
}

/** Answers a source that changed between its check and the import (the transaction rolled back); other errors propagate. */
export function refuseChangedSource(error: unknown, io: Output): number {
  if (!(error instanceof MalformedSourceError)) throw error
  io.err(`enclave: import refused (malformed): ${error.message} Nothing was imported.\n`)
  return 1
}
