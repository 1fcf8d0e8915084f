/** A file-backed store in a fresh temporary directory, with one user who owns everything written. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { UserId } from '../src/db/ids.ts'
import { openStore, type SqliteStore as Store } from '../src/db/open-store.ts'

export type BenchStore = {
  store: Store
  owner: UserId
  dataDir: string
  /** Closes the store and deletes its directory, key file included. */
  remove(): void
}

/** Opens a new store under a generated master key in a new temp directory and creates its one user. */
export async function openBenchStore(): Promise<BenchStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'enclave-bench-'))
  try {
    const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
    const created = await store.users.createUser({ email: 'bench@example.com', name: 'Bench User', role: 'user' })
    if (!created.ok) throw new Error(`could not create the benchmark user: ${created.reason}`)
    return {
      store,
      owner: created.user.id,
      dataDir,
      remove() {
        store.close()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}
