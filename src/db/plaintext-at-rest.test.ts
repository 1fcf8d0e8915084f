import { afterEach, beforeEach, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DATABASE_FILE, openStore, type Store } from './open-store.ts'
import type { PasskeyId } from './second-factors.ts'

// Plaintext never reaches disk: not in the database file, not in the WAL, not in the shared memory
// file, while the store is open and after it is closed.

const MARKERS = {
  email: 'MARKER-EMAIL-7f3a',
  name: 'MARKER-NAME-c41e',
  title: 'MARKER-TITLE-09bd',
  content: 'MARKER-CONTENT-5a62',
  model: 'MARKER-MODEL-e8f0',
  preference: 'MARKER-PREF-13c7',
  setting: 'MARKER-SETTING-b2d9',
  renamed: 'MARKER-RENAMED-6f11',
  system: 'MARKER-SYSTEM-2d80',
  param: 'MARKER-PARAM-71ac',
  chatModel: 'MARKER-CHATMODEL-0b3e',
  tag: 'MARKER-TAG-c9d1',
  chatExtra: 'MARKER-CHATEXTRA-5e27',
  messageExtra: 'MARKER-MSGEXTRA-8a40',
  error: 'MARKER-ERROR-3f95',
  usage: 'MARKER-USAGE-d6b2',
  sources: 'MARKER-SOURCES-47e3',
  files: 'MARKER-FILES-e01c',
  folder: 'MARKER-FOLDER-4b1d',
  folderData: 'MARKER-FOLDERDATA-90ce',
  tagName: 'MARKER-TAGNAME-5c3f',
  share: 'MARKER-SHARE-e6a8',
  groupName: 'MARKER-GROUPNAME-71d2',
  groupDescription: 'MARKER-GROUPDESC-3b90',
  keyModel: 'MARKER-KEYMODEL-a4c6',
  totpSecret: 'MARKER-TOTPSECRET-7c', // 20 bytes, a TOTP secret's length
  passkeyName: 'MARKER-PASSKEY-3e91',
  passkeyCredential: 'MARKER-CREDID-a5d2',
  passkeyPublicKey: 'MARKER-PUBKEY-60f8',
  presetId: 'MARKER-PRESETID-a17c',
  presetName: 'MARKER-PRESETNAME-3b90',
  presetSystem: 'MARKER-PRESETSYSTEM-c2e4',
  presetMeta: 'MARKER-PRESETMETA-58d1',
  promptCommand: 'MARKER-PROMPTCMD-9e02',
  promptTitle: 'MARKER-PROMPTTITLE-64fa',
  promptContent: 'MARKER-PROMPTCONTENT-d83b',
  directKey: 'MARKER-DIRECTKEY-1f6e',
}
const RECOVERY_CODE = 'mark-erre-cove-ryaa'

let dataDir = ''
beforeEach(() => { dataDir = join(mkdtempSync(join(tmpdir(), 'enclave-')), 'data') })
afterEach(() => { rmSync(join(dataDir, '..'), { recursive: true, force: true }) })

function fillStore(store: Store) {
  const result = store.users.createUser({
    email: `${MARKERS.email}@example.com`, name: MARKERS.name, role: 'user',
    preferences: { note: MARKERS.preference, settings: { ui: { directConnections: { OPENAI_API_BASE_URLS: ['https://api.example.com/v1'], OPENAI_API_KEYS: [MARKERS.directKey], OPENAI_API_CONFIGS: {} } } } },
  })
  if (!result.ok) throw new Error(result.reason)
  const owner = result.user.id
  const chat = store.chats.createChat(owner, MARKERS.title)
  for (let i = 0; i < 50; i++) {
    store.chats.addMessage(owner, chat.id, {
      role: i % 2 === 0 ? 'user' : 'assistant', content: `${MARKERS.content} number ${i} ${'padding '.repeat(20)}`,
      model: MARKERS.model, stats: { note: MARKERS.content }, images: [MARKERS.content],
    })
  }
  const tree = store.chats.createChat(owner, MARKERS.title)
  const saved = store.chats.saveChatForUser(owner, tree.id, {
    settings: { system: MARKERS.system, params: { stop: [MARKERS.param] }, models: [MARKERS.chatModel], tags: [MARKERS.tag], extra: { files: [MARKERS.chatExtra] } },
    messages: {
      kind: 'tree', currentUid: 'b',
      messages: [
        { uid: 'a', parentUid: null, role: 'user', content: MARKERS.content, createdAt: null, extra: { statusHistory: [MARKERS.messageExtra] }, files: [MARKERS.files] },
        { uid: 'b', parentUid: 'a', role: 'assistant', content: MARKERS.content, createdAt: null, status: 'done', error: { content: MARKERS.error }, usage: { note: MARKERS.usage }, sources: [MARKERS.sources] },
      ],
    },
  })
  expect(saved.ok).toBe(true)
  store.settings.writeSetting('connections', { apiKey: MARKERS.setting })
  store.users.renameUser(owner, MARKERS.renamed)
  store.chats.renameChat(owner, chat.id, MARKERS.renamed)
  const folder = store.folders.createFolder(owner, { name: MARKERS.folder, data: { system_prompt: MARKERS.folderData }, meta: { note: MARKERS.folderData } })
  if (!folder.ok) throw new Error(folder.reason)
  store.chatTags.addTagToChat(owner, tree.id, `${MARKERS.tagName} Word`)
  const opened = store.chats.readChatTree(owner, tree.id)!
  const shareId = store.chatShares.shareChat(owner, tree.id, { ...opened, chat: { ...opened.chat, title: MARKERS.share } })!
  const group = store.groups.createLocalGroup({ name: MARKERS.groupName, description: MARKERS.groupDescription })
  if (!group.ok) throw new Error(group.reason)
  store.apiKeys.createApiKey({ id: crypto.randomUUID() as never, userId: owner, keyHash: new Uint8Array(32), name: 'k', expiresAt: null, allowedModels: [MARKERS.keyModel] })
  const bytes = (text: string) => new TextEncoder().encode(text)
  store.secondFactors.setPendingTotp(owner, bytes(MARKERS.totpSecret))
  store.secondFactors.replaceRecoveryCodes(owner, [RECOVERY_CODE])
  store.secondFactors.addPasskey({
    id: 'passkey-1' as PasskeyId, userId: owner, credentialId: bytes(MARKERS.passkeyCredential), publicKey: bytes(MARKERS.passkeyPublicKey), name: MARKERS.passkeyName, signCount: 0,
  })
  const preset = store.workspaceModels.createModel(owner, MARKERS.presetId, {
    baseModelId: 'qwen2.5:0.5b', name: MARKERS.presetName, meta: { description: MARKERS.presetMeta }, params: { system: MARKERS.presetSystem }, access: {}, isActive: true,
  })
  if (!preset.ok) throw new Error(preset.reason)
  const prompt = store.prompts.createPrompt(owner, MARKERS.promptCommand, { title: MARKERS.promptTitle, content: MARKERS.promptContent, access: null })
  if (!prompt.ok) throw new Error(prompt.reason)
  return { owner, chatId: chat.id, treeId: tree.id, folderId: folder.folder.id, shareId }
}

/** Returns every marker found in the database files that exist, as UTF-8 or UTF-16LE. */
function markersOnDisk(): string[] {
  const found: string[] = []
  for (const name of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) {
    const path = join(dataDir, name)
    if (!existsSync(path)) continue
    const bytes = readFileSync(path)
    for (const marker of [...Object.values(MARKERS), RECOVERY_CODE, RECOVERY_CODE.replaceAll('-', '')]) {
      for (const encoding of ['utf8', 'utf16le'] as const) {
        if (bytes.indexOf(Buffer.from(marker, encoding)) !== -1) found.push(`${marker} (${encoding}) in ${name}`)
      }
      if (bytes.indexOf(Buffer.from(marker.toLowerCase(), 'utf8')) !== -1) found.push(`${marker} (lower-case) in ${name}`)
    }
  }
  return found
}

test('no marker appears in enclave.db, -wal or -shm, before or after close', () => {
  const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
  let closed = false
  try {
    const { owner, chatId } = fillStore(store)
    expect(store.chats.listMessagesInChat(owner, chatId)).toHaveLength(50)
    expect(existsSync(join(dataDir, `${DATABASE_FILE}-wal`))).toBe(true)
    expect(markersOnDisk()).toEqual([])
    store.close()
    closed = true
    expect(markersOnDisk()).toEqual([])
  } finally {
    if (!closed) store.close()
  }
})

test('the data is really there: reopening reads every marker back', () => {
  const masterKey = { kind: 'generated', path: join(dataDir, '.encryption_key') } as const
  const first = openStore({ dataDir, masterKey, now: Date.now })
  const { owner, chatId, treeId, folderId, shareId } = fillStore(first)
  first.close()
  const store = openStore({ dataDir, masterKey, now: Date.now })
  try {
    expect(store.users.findUserByEmail(`${MARKERS.email.toLowerCase()}@EXAMPLE.com`)).toMatchObject({ id: owner, name: MARKERS.renamed })
    expect(store.users.findUserPreferences(owner)).toMatchObject({ note: MARKERS.preference, settings: { ui: { directConnections: { OPENAI_API_KEYS: [MARKERS.directKey] } } } })
    expect(store.workspaceModels.findModel(MARKERS.presetId)).toMatchObject({ name: MARKERS.presetName, meta: { description: MARKERS.presetMeta }, params: { system: MARKERS.presetSystem } })
    expect(store.prompts.findOwnPrompt(owner, MARKERS.promptCommand)).toMatchObject({ title: MARKERS.promptTitle, content: MARKERS.promptContent })
    expect(store.chats.findChatForUser(owner, chatId)?.title).toBe(MARKERS.renamed)
    const messages = store.chats.listMessagesInChat(owner, chatId)
    expect(messages.map((message) => message.content.split(' number ')[0])).toEqual(Array(50).fill(MARKERS.content))
    expect(store.settings.readSetting('connections')).toEqual({ apiKey: MARKERS.setting })
    const tree = store.chats.readChatTree(owner, treeId)!
    expect(tree.settings).toEqual({ system: MARKERS.system, params: { stop: [MARKERS.param] }, models: [MARKERS.chatModel], tags: [MARKERS.tag], extra: { files: [MARKERS.chatExtra] } })
    expect(tree.messages.map((message) => [message.extra, message.files, message.error, message.usage, message.sources])).toEqual([
      [{ statusHistory: [MARKERS.messageExtra] }, [MARKERS.files], null, null, null],
      [null, null, { content: MARKERS.error }, { note: MARKERS.usage }, [MARKERS.sources]],
    ])
    expect(store.folders.findFolderForUser(owner, folderId)).toMatchObject({ name: MARKERS.folder, data: { system_prompt: MARKERS.folderData }, meta: { note: MARKERS.folderData } })
    expect(store.chatTags.listTagsOfChat(owner, treeId)).toEqual([{ id: `${MARKERS.tagName.toLowerCase()}_word`, name: `${MARKERS.tagName} Word` }])
    expect(store.chatShares.readShare(shareId)?.snapshot.chat.title).toBe(MARKERS.share)
    expect(store.groups.findGroupByName(MARKERS.groupName)?.description).toBe(MARKERS.groupDescription)
    expect(store.apiKeys.listApiKeys(owner)[0]?.allowedModels).toEqual([MARKERS.keyModel])
    expect(new TextDecoder().decode(store.secondFactors.findTotp(owner)!.secret)).toBe(MARKERS.totpSecret)
    expect(store.secondFactors.useRecoveryCode(owner, RECOVERY_CODE)).toBe(true)
    expect(store.secondFactors.listPasskeys(owner).map((passkey) => [passkey.name, new TextDecoder().decode(passkey.credentialId), new TextDecoder().decode(passkey.publicKey)]))
      .toEqual([[MARKERS.passkeyName, MARKERS.passkeyCredential, MARKERS.passkeyPublicKey]])
  } finally {
    store.close()
  }
  expect(markersOnDisk()).toEqual([])
})

test('the scan does find plaintext when some is written (the check above can fail)', () => {
  const store = openStore({ dataDir, masterKey: { kind: 'env', value: 'cd'.repeat(32) }, now: Date.now })
  try {
    store.db.run('CREATE TABLE probe (x TEXT NOT NULL)')
    store.db.query('INSERT INTO probe (x) VALUES (?)').run(MARKERS.title)
    expect(markersOnDisk()).toContain(`${MARKERS.title} (utf8) in ${DATABASE_FILE}-wal`)
  } finally {
    store.close()
  }
  expect(markersOnDisk()).toContain(`${MARKERS.title} (utf8) in ${DATABASE_FILE}`)
})
