/** `enclave import open-webui PATH/webui.db`, with the server stopped: reads, checks, then imports in one transaction. */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { readPreviousMasterKey } from '../crypto/previous-master-key.ts'
import { importOpenWebUi } from '../db/import-open-webui.ts'
import { openStore } from '../db/open-store.ts'
import { readOpenWebUiDatabase } from '../db/open-webui-source.ts'
import { checkHealth } from './healthcheck.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }

export async function importFromOpenWebUi(config: Config, file: string, io: Output): Promise<number> {
  const path = resolve(process.cwd(), file)
  if (!existsSync(path)) {
    io.err(`enclave: ${path} does not exist.\n`)
    return 1
  }
  if ((await checkHealth(config, 1000)).ok) {
    io.err('enclave: a server answers on this port: stop it before importing.\n')
    return 1
  }
  const source = readOpenWebUiDatabase(path)
  if (!source.ok) {
    io.err(`enclave: import refused (${source.reason}): ${source.detail} Nothing was imported.\n`)
    return 1
  }
  const store = openStore({ dataDir: config.dataDir, masterKey: config.masterKey, now: Date.now, previousMasterKey: readPreviousMasterKey(config.values, config.masterKey, process.cwd()) })
  try {
    const counts = importOpenWebUi(store, source.data)
    io.out(`Imported from ${path}: ${counts.usersImported} users (${counts.usersAlreadyThere} already here, ${counts.usersConflicting} left out because their email belongs to another account), ` +
      `${counts.chatsImported} chats with ${counts.messagesImported} messages (${counts.chatsAlreadyThere} already here, ${counts.chatsLeftOut} of left-out users).\n`)
    if (counts.usersImported > 0) io.out('Imported users sign in with their Open WebUI passwords; each is upgraded to argon2id at its first sign-in.\n')
    return 0
  } finally {
    store.close()
  }
}
