/** Fills a data directory with users, chats and messages through the real store, for lifecycle tests. */
import { join } from 'node:path'
import type { MasterKeySource } from '../../src/config/load-config.ts'
import { openStore } from '../../src/db/open-store.ts'
import type { UserId } from '../../src/db/ids.ts'

export type Seeded = { userIds: UserId[]; chatIds: string[] }

/** The source `enclave` uses for a data dir without ENCRYPTION_KEY(_FILE). */
export const generatedKey = (dataDir: string): MasterKeySource => ({ kind: 'generated', path: join(dataDir, '.encryption_key') })

/** Creates `users` users, each with `chats` chats of `messages` messages whose text carries `marker`. */
export async function seedDataDir(dataDir: string, options: { masterKey?: MasterKeySource; users: number; chats?: number; messages?: number; marker?: string }): Promise<Seeded> {
  const store = openStore({ dataDir, masterKey: options.masterKey ?? generatedKey(dataDir), now: Date.now })
  const userIds: UserId[] = []
  const chatIds: string[] = []
  try {
    await store.sql.transaction(async () => {
      for (let u = 0; u < options.users; u++) {
        const created = await store.users.createUser({ email: `user${u}@example.com`, name: `User ${u}`, role: u === 0 ? 'admin' : 'user' })
        if (!created.ok) throw new Error(created.reason)
        userIds.push(created.user.id)
        for (let c = 0; c < (options.chats ?? 0); c++) {
          const messages = Array.from({ length: options.messages ?? 0 }, (_, m) => ({ role: m % 2 === 0 ? 'user' as const : 'assistant' as const, content: `${options.marker ?? 'text'} ${u}/${c}/${m}` }))
          chatIds.push((await store.chats.createChat(created.user.id, `${options.marker ?? 'title'} chat ${c}`, messages)).id)
        }
      }
    })
  } finally {
    store.close()
  }
  return { userIds, chatIds }
}
