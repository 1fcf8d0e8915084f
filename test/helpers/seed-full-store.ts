/**
 * Fills a data directory with one of everything the store keeps, each text carrying `marker`:
 * users, chats with a branched message tree, a file with its blob, a knowledge base, a folder,
 * settings, a group with a member, an LDAP identity, a prompt, a session and an API key. For the engine-copy tests (migrate-db, backup on PostgreSQL).
 * Every repository call is awaited, whether it is synchronous or already on the engine contract.
 */
import type { MasterKeySource } from '../../src/config/load-config.ts'
import type { ChatId, UserId } from '../../src/db/ids.ts'
import { openStore } from '../../src/db/open-store.ts'
import { generatedKey, seedDataDir } from './seed-store.ts'

export type FullSeed = { userIds: UserId[]; chatIds: ChatId[]; fileId: string }

/** Seeds `dataDir` (created when missing) under `masterKey` (default: the generated key file). */
export async function seedFullDataDir(dataDir: string, marker: string, masterKey: MasterKeySource = generatedKey(dataDir)): Promise<FullSeed> {
  const seeded = await seedDataDir(dataDir, { masterKey, users: 2, chats: 2, messages: 3, marker })
  const store = openStore({ dataDir, masterKey, now: Date.now })
  try {
    const [owner] = seeded.userIds as [UserId]
    const chatId = seeded.chatIds[0] as ChatId
    const [first] = await store.chats.listMessagesInChat(owner, chatId)
    // a second answer under the first question: a branch
    await store.chats.addMessage(owner, chatId, { role: 'assistant', content: `${marker} branch`, parentId: first!.id })
    async function* bytes() { yield new TextEncoder().encode(`${marker} file body`) }
    const file = await store.files.create(owner, { name: `${marker}.txt`, contentType: 'text/plain' }, bytes(), { maxFileBytes: 1 << 20, quotaBytes: 1 << 30 })
    if (!file.ok) throw new Error(file.reason)
    await store.knowledge.createKnowledge(owner, { name: `${marker} knowledge`, description: `${marker} about` })
    await store.folders.createFolder(owner, { name: `${marker} folder` })
    await store.settings.writeSetting('ui', { banner: `${marker} setting` })
    const group = await store.groups.createLocalGroup({ name: `${marker} group`, description: `${marker} group about` })
    if (!group.ok) throw new Error(String(group.reason))
    await store.groups.addMember(group.group.id, owner, 'local')
    await store.identities.linkIdentity('ldap', `${marker}-subject`, owner)
    await store.prompts.createPrompt(owner, `/${marker.toLowerCase()}`, { title: `${marker} prompt`, content: `${marker} prompt body`, access: null })
    await store.sessions.createSession({ id: crypto.randomUUID() as never, userId: owner, expiresAt: null, userAgent: `${marker} agent`, ip: '192.0.2.1' })
    await store.apiKeys.createApiKey({ id: crypto.randomUUID() as never, userId: owner, keyHash: crypto.getRandomValues(new Uint8Array(32)), name: `${marker} key`, expiresAt: null })
    return { userIds: seeded.userIds, chatIds: seeded.chatIds as ChatId[], fileId: file.file.id }
  } finally {
    store.close()
  }
}
