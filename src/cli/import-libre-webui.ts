/**
 * `enclave import libre-webui --from DIR|data.sqlite`, with the server stopped (on PostgreSQL, also
 * beside running instances): opens Libre WebUI's database with its key, checks and opens every
 * value, then imports it in one transaction.
 *
 * Libre WebUI's key is found, in order: --encryption-key-file, LIBRE_WEBUI_ENCRYPTION_KEY, the
 * source directory's .encryption_key (where its Docker image keeps it), then ENCRYPTION_KEY (the
 * name Libre WebUI reads, which a user moving over may still have set). A wrong key opens nothing
 * and is refused, so trying the last two is safe. The key is never printed.
 */
import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Config } from '../config/load-config.ts'
import { readKeyFile } from '../crypto/key-files.ts'
import { parseLibreKey } from '../crypto/libre-webui-cipher.ts'
import { importUsersAndChats } from '../db/import-open-webui.ts'
import { openLibreWebUiDatabase } from '../db/libre-webui-source.ts'
import { openCommandStore } from './command-store.ts'
import { checkHealth } from './healthcheck.ts'
import { printImportSummary, refuseChangedSource } from './import-open-webui.ts'

type Output = { out: (text: string) => void; err: (text: string) => void }
type FoundKey = { key: Uint8Array | null; from: string } | { problem: string }

const PROGRESS_EVERY = 500

export async function importFromLibreWebUi(config: Config, from: string, keyFile: string | undefined, io: Output): Promise<number> {
  const given = resolve(process.cwd(), from)
  const path = existsSync(given) && statSync(given).isDirectory() ? join(given, 'data.sqlite') : given
  if (!existsSync(path)) {
    io.err(`enclave: ${path} does not exist (give --from Libre WebUI's DATA_DIR or its data.sqlite).\n`)
    return 1
  }
  // note: on PostgreSQL the import is one transaction beside the running instances, as any write of theirs.
  if (config.postgres === null && (await checkHealth(config, 1000)).ok) {
    io.err('enclave: a server answers on this port: stop it before importing.\n')
    return 1
  }
  const found = findLibreKey(config, dirname(path), keyFile)
  if ('problem' in found) {
    io.err(`enclave: import refused: ${found.problem} Nothing was imported.\n`)
    return 1
  }
  io.err(`Reading ${path} (key: ${found.from})...\n`)
  const opened = openLibreWebUiDatabase(path, found.key)
  if (!opened.ok) {
    const detail = opened.reason === 'unopened_values'
      ? `${opened.unopened} of ${opened.encrypted} encrypted values could not be opened with the key from ${found.from}: give Libre WebUI's ENCRYPTION_KEY with --encryption-key-file or LIBRE_WEBUI_ENCRYPTION_KEY.`
      : opened.detail
    io.err(`enclave: import refused (${opened.reason}): ${detail} Nothing was imported.\n`)
    return 1
  }
  const { source } = opened
  const store = await openCommandStore(config, { mayCreate: true })
  try {
    let done = 0
    const onChat = () => {
      done++
      if (done % PROGRESS_EVERY === 0) io.err(`  ${done} of ${source.chatCount} chats...\n`)
    }
    printImportSummary(path, await importUsersAndChats(store, source, 'Libre WebUI', onChat), 'Libre WebUI', io)
    for (const user of source.users.filter((each) => each.email.endsWith('@localhost'))) io.out(`${user.name} had no email in Libre WebUI and signs in here as ${user.email}.\n`)
    for (const user of source.users.filter((each) => each.passwordHash === null)) io.out(`${user.email} has no password here: it is the single user with SINGLE_USER_MODE=true, where it can set one in Settings.\n`)
    for (const [table, n] of Object.entries(source.leftBehind)) io.out(`Not imported: ${n} rows of ${table} (Enclave has no such feature yet).\n`)
    return 0
  } catch (error) {
    return refuseChangedSource(error, io)
  } finally {
    source.close()
    await store.close()
  }
}

/** Finds Libre WebUI's key (see the header); a key given but not 64 hex characters is a problem, named without its value. */
function findLibreKey(config: Config, sourceDir: string, keyFile: string | undefined): FoundKey {
  const candidates: [string, () => string][] = []
  if (keyFile !== undefined) candidates.push([`--encryption-key-file ${keyFile}`, () => readKeyFile(resolve(process.cwd(), keyFile), '--encryption-key-file')])
  else if (config.values.LIBRE_WEBUI_ENCRYPTION_KEY !== null) candidates.push(['LIBRE_WEBUI_ENCRYPTION_KEY', () => config.values.LIBRE_WEBUI_ENCRYPTION_KEY!])
  else {
    const dockerKey = join(sourceDir, '.encryption_key')
    if (existsSync(dockerKey)) candidates.push([dockerKey, () => readKeyFile(dockerKey, 'Libre WebUI\'s key file')])
    else if (config.values.ENCRYPTION_KEY !== null && parseLibreKey(config.values.ENCRYPTION_KEY) !== null) candidates.push(['ENCRYPTION_KEY', () => config.values.ENCRYPTION_KEY!])
  }
  const [from, read] = candidates[0] ?? ['none given', () => null]
  const text = read()
  if (text === null) return { key: null, from }
  const key = parseLibreKey(text)
  return key === null ? { problem: `the key from ${from} is not 64 hex characters, as Libre WebUI's ENCRYPTION_KEY is.` } : { key, from }
}
