import { afterEach, beforeEach, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBackup } from './backup.ts'
import type { UserId } from './ids.ts'
import { DATABASE_FILE, openStore, type Store } from './open-store.ts'
import type { PasskeyId } from './second-factors.ts'
import { restoreBackup } from './restore.ts'

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
  fileName: 'MARKER-FILENAME-77c2',
  fileContent: 'MARKER-FILECONTENT-a9d4',
  fileMeta: 'MARKER-FILEMETA-3be0',
  fileData: 'MARKER-FILEDATA-c58f',
  imageBytes: 'MARKER-IMAGEBYTES-1e6d',
  knowledgeName: 'MARKER-KNOWLEDGE-5f0a',
  knowledgeDescription: 'MARKER-KNOWLEDGEDESC-2b7c',
  documentName: 'MARKER-DOCNAME-8e13',
  chunkText: 'MARKER-CHUNKTEXT-d402',
}

// An embedding whose packed float32 bytes are looked for on disk like the markers' text.
const EMBEDDING = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + 0.5) / 4)
const EMBEDDING_BYTES = Buffer.from(EMBEDDING.buffer)

/** A knowledge base and a document of two chunks, each with its embedding. */
async function fillKnowledge(store: Store, owner: UserId) {
  const knowledge = await store.knowledge.createKnowledge(owner, { name: MARKERS.knowledgeName, description: MARKERS.knowledgeDescription, data: { note: MARKERS.knowledgeName } })
  const document = await store.ragDocuments.saveDocument(owner, { fileId: null, name: MARKERS.documentName, model: 'nomic-embed-text', dimensions: EMBEDDING.length }, [
    { content: { text: `${MARKERS.chunkText} first passage`, start: 0 }, embedding: EMBEDDING },
    { content: { text: `${MARKERS.chunkText} second passage`, start: 30 }, embedding: EMBEDDING.map((x) => -x) },
  ])
  return { knowledgeId: knowledge.id, document }
}

// A PNG's signature and header, then the marker where its pixel data would be.
const IMAGE = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.from(MARKERS.imageBytes.repeat(50))])
const TEXT = `${MARKERS.fileContent} ${'line of a document '.repeat(10_000)} ${MARKERS.fileContent}`

async function fillFiles(store: Store, owner: UserId) {
  const limits = { maxFileBytes: 10 ** 8, quotaBytes: 10 ** 9 }
  const source = async function* (bytes: Uint8Array) { yield bytes }
  const text = await store.files.create(owner, { name: `${MARKERS.fileName}.md`, contentType: 'text/markdown', meta: { note: MARKERS.fileMeta } }, source(Buffer.from(TEXT)), limits)
  const image = await store.files.create(owner, { name: `${MARKERS.fileName}.png`, contentType: 'image/png' }, source(IMAGE), limits)
  if (!text.ok || !image.ok) throw new Error('upload refused')
  await store.files.setData(owner, text.file.id, { content: MARKERS.fileData, status: 'completed' })
  return { textId: text.file.id, imageId: image.file.id }
}
const RECOVERY_CODE = 'mark-erre-cove-ryaa'

let dataDir = ''
beforeEach(() => { dataDir = join(mkdtempSync(join(tmpdir(), 'enclave-')), 'data') })
afterEach(() => { rmSync(join(dataDir, '..'), { recursive: true, force: true }) })

async function fillStore(store: Store) {
  const result = await store.users.createUser({
    email: `${MARKERS.email}@example.com`, name: MARKERS.name, role: 'user',
    preferences: { note: MARKERS.preference, settings: { ui: { directConnections: { OPENAI_API_BASE_URLS: ['https://api.example.com/v1'], OPENAI_API_KEYS: [MARKERS.directKey], OPENAI_API_CONFIGS: {} } } } },
  })
  if (!result.ok) throw new Error(result.reason)
  const owner = result.user.id
  const chat = await store.chats.createChat(owner, MARKERS.title)
  for (let i = 0; i < 50; i++) {
    await store.chats.addMessage(owner, chat.id, {
      role: i % 2 === 0 ? 'user' : 'assistant', content: `${MARKERS.content} number ${i} ${'padding '.repeat(20)}`,
      model: MARKERS.model, stats: { note: MARKERS.content }, images: [MARKERS.content],
    })
  }
  const tree = await store.chats.createChat(owner, MARKERS.title)
  const saved = await store.chats.saveChatForUser(owner, tree.id, {
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
  await store.settings.writeSetting('connections', { apiKey: MARKERS.setting })
  await store.users.renameUser(owner, MARKERS.renamed)
  await store.chats.renameChat(owner, chat.id, MARKERS.renamed)
  const folder = await store.folders.createFolder(owner, { name: MARKERS.folder, data: { system_prompt: MARKERS.folderData }, meta: { note: MARKERS.folderData } })
  if (!folder.ok) throw new Error(folder.reason)
  await store.chatTags.addTagToChat(owner, tree.id, `${MARKERS.tagName} Word`)
  const opened = (await store.chats.readChatTree(owner, tree.id))!
  const shareId = (await store.chatShares.shareChat(owner, tree.id, { ...opened, chat: { ...opened.chat, title: MARKERS.share } }))!
  const group = await store.groups.createLocalGroup({ name: MARKERS.groupName, description: MARKERS.groupDescription })
  if (!group.ok) throw new Error(group.reason)
  await store.apiKeys.createApiKey({ id: crypto.randomUUID() as never, userId: owner, keyHash: new Uint8Array(32), name: 'k', expiresAt: null, allowedModels: [MARKERS.keyModel] })
  const bytes = (text: string) => new TextEncoder().encode(text)
  await store.secondFactors.setPendingTotp(owner, bytes(MARKERS.totpSecret))
  await store.secondFactors.replaceRecoveryCodes(owner, [RECOVERY_CODE])
  await store.secondFactors.addPasskey({
    id: 'passkey-1' as PasskeyId, userId: owner, credentialId: bytes(MARKERS.passkeyCredential), publicKey: bytes(MARKERS.passkeyPublicKey), name: MARKERS.passkeyName, signCount: 0,
  })
  const preset = await store.workspaceModels.createModel(owner, MARKERS.presetId, {
    baseModelId: 'qwen2.5:0.5b', name: MARKERS.presetName, meta: { description: MARKERS.presetMeta }, params: { system: MARKERS.presetSystem }, access: {}, isActive: true,
  })
  if (!preset.ok) throw new Error(preset.reason)
  const prompt = await store.prompts.createPrompt(owner, MARKERS.promptCommand, { title: MARKERS.promptTitle, content: MARKERS.promptContent, access: null })
  if (!prompt.ok) throw new Error(prompt.reason)
  return { owner, chatId: chat.id, treeId: tree.id, folderId: folder.folder.id, shareId }
}

/** Returns every marker found in the database files, the file blobs and `extra` files that exist, as UTF-8 or UTF-16LE. */
function markersOnDisk(extra: string[] = []): string[] {
  const found: string[] = []
  const blobs = existsSync(join(dataDir, 'files')) ? readdirSync(join(dataDir, 'files')).map((name) => join('files', name)) : []
  for (const name of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`, ...blobs, ...extra]) {
    const path = join(dataDir, name)
    if (!existsSync(path)) continue
    const bytes = readFileSync(path)
    for (const marker of [...Object.values(MARKERS), RECOVERY_CODE, RECOVERY_CODE.replaceAll('-', '')]) {
      for (const encoding of ['utf8', 'utf16le'] as const) {
        if (bytes.indexOf(Buffer.from(marker, encoding)) !== -1) found.push(`${marker} (${encoding}) in ${name}`)
      }
      if (bytes.indexOf(Buffer.from(marker.toLowerCase(), 'utf8')) !== -1) found.push(`${marker} (lower-case) in ${name}`)
    }
    if (bytes.indexOf(EMBEDDING_BYTES.subarray(0, 16)) !== -1) found.push(`the embedding's float32 bytes in ${name}`)
  }
  return found
}

test('no marker appears in enclave.db, -wal, -shm or the file blobs, before or after close', async () => {
  const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, '.encryption_key') }, now: Date.now })
  let closed = false
  try {
    const { owner, chatId } = await fillStore(store)
    await fillFiles(store, owner)
    await fillKnowledge(store, owner)
    expect(readdirSync(join(dataDir, 'files'))).toHaveLength(2)
    expect(await store.chats.listMessagesInChat(owner, chatId)).toHaveLength(50)
    expect(existsSync(join(dataDir, `${DATABASE_FILE}-wal`))).toBe(true)
    expect(markersOnDisk()).toEqual([])
    store.close()
    closed = true
    expect(markersOnDisk()).toEqual([])
  } finally {
    if (!closed) store.close()
  }
})

test('the data is really there: reopening reads every marker back', async () => {
  const masterKey = { kind: 'generated', path: join(dataDir, '.encryption_key') } as const
  const first = openStore({ dataDir, masterKey, now: Date.now })
  const { owner, chatId, treeId, folderId, shareId } = await fillStore(first)
  const { textId, imageId } = await fillFiles(first, owner)
  const { knowledgeId, document } = await fillKnowledge(first, owner)
  first.close()
  const store = openStore({ dataDir, masterKey, now: Date.now })
  try {
    expect(await store.users.findUserByEmail(`${MARKERS.email.toLowerCase()}@EXAMPLE.com`)).toMatchObject({ id: owner, name: MARKERS.renamed })
    expect(await store.users.findUserPreferences(owner)).toMatchObject({ note: MARKERS.preference, settings: { ui: { directConnections: { OPENAI_API_KEYS: [MARKERS.directKey] } } } })
    expect(await store.workspaceModels.findModel(MARKERS.presetId)).toMatchObject({ name: MARKERS.presetName, meta: { description: MARKERS.presetMeta }, params: { system: MARKERS.presetSystem } })
    expect(await store.prompts.findOwnPrompt(owner, MARKERS.promptCommand)).toMatchObject({ title: MARKERS.promptTitle, content: MARKERS.promptContent })
    expect((await store.chats.findChatForUser(owner, chatId))?.title).toBe(MARKERS.renamed)
    const messages = await store.chats.listMessagesInChat(owner, chatId)
    expect(messages.map((message) => message.content.split(' number ')[0])).toEqual(Array(50).fill(MARKERS.content))
    expect(await store.settings.readSetting('connections')).toEqual({ apiKey: MARKERS.setting })
    const tree = (await store.chats.readChatTree(owner, treeId))!
    expect(tree.settings).toEqual({ system: MARKERS.system, params: { stop: [MARKERS.param] }, models: [MARKERS.chatModel], tags: [MARKERS.tag], extra: { files: [MARKERS.chatExtra] } })
    expect(tree.messages.map((message) => [message.extra, message.files, message.error, message.usage, message.sources])).toEqual([
      [{ statusHistory: [MARKERS.messageExtra] }, [MARKERS.files], null, null, null],
      [null, null, { content: MARKERS.error }, { note: MARKERS.usage }, [MARKERS.sources]],
    ])
    expect(await store.folders.findFolderForUser(owner, folderId)).toMatchObject({ name: MARKERS.folder, data: { system_prompt: MARKERS.folderData }, meta: { note: MARKERS.folderData } })
    expect(await store.chatTags.listTagsOfChat(owner, treeId)).toEqual([{ id: `${MARKERS.tagName.toLowerCase()}_word`, name: `${MARKERS.tagName} Word` }])
    expect((await store.chatShares.readShare(shareId))?.snapshot.chat.title).toBe(MARKERS.share)
    expect((await store.groups.findGroupByName(MARKERS.groupName))?.description).toBe(MARKERS.groupDescription)
    expect((await store.apiKeys.listApiKeys(owner))[0]?.allowedModels).toEqual([MARKERS.keyModel])
    expect(new TextDecoder().decode((await store.secondFactors.findTotp(owner))!.secret)).toBe(MARKERS.totpSecret)
    expect(await store.secondFactors.useRecoveryCode(owner, RECOVERY_CODE)).toBe(true)
    expect((await store.secondFactors.listPasskeys(owner)).map((passkey) => [passkey.name, new TextDecoder().decode(passkey.credentialId), new TextDecoder().decode(passkey.publicKey)]))
      .toEqual([[MARKERS.passkeyName, MARKERS.passkeyCredential, MARKERS.passkeyPublicKey]])
    expect(await store.files.get(owner, textId)).toMatchObject({ name: `${MARKERS.fileName}.md`, meta: { note: MARKERS.fileMeta }, data: { content: MARKERS.fileData } })
    expect(Buffer.from((await store.files.readBytes(owner, textId, 10 ** 8))!).toString()).toBe(TEXT)
    expect(Buffer.from((await store.files.readBytes(owner, imageId, 10 ** 8))!).equals(IMAGE)).toBe(true)
    expect(await store.knowledge.findKnowledge(knowledgeId)).toMatchObject({ name: MARKERS.knowledgeName, description: MARKERS.knowledgeDescription, data: { note: MARKERS.knowledgeName } })
    const stored = (await store.ragDocuments.findDocumentForUser(owner, document.id))!
    expect(stored.name).toBe(MARKERS.documentName)
    expect(await store.ragDocuments.readChunk(stored, 1)).toEqual({ text: `${MARKERS.chunkText} second passage`, start: 30 })
    const matrix = await store.ragDocuments.readEmbeddings(stored)
    expect(Buffer.from(matrix.buffer, 0, EMBEDDING_BYTES.length).equals(EMBEDDING_BYTES)).toBe(true)
    expect(matrix[EMBEDDING.length]).toBe(-EMBEDDING[0]!)
  } finally {
    store.close()
  }
  expect(markersOnDisk()).toEqual([])
})

test('a backup carries the files with no marker readable, and a restore brings them back', async () => {
  const masterKey = { kind: 'generated', path: join(dataDir, '.encryption_key') } as const
  const store = openStore({ dataDir, masterKey, now: Date.now })
  const { owner } = await fillStore(store)
  const { textId, imageId } = await fillFiles(store, owner)
  const { document } = await fillKnowledge(store, owner)
  const backupPath = join(dataDir, 'files.backup')
  try {
    createBackup(store.db, backupPath, { passphrase: null, now: Date.now, filesDir: join(dataDir, 'files') })
    // deleted after the backup: the restore brings it back; a file made after it goes.
    await store.files.delete(owner, textId)
  } finally {
    store.close()
  }
  expect(markersOnDisk(['files.backup'])).toEqual([])
  const restoredDir = join(dataDir, '..', 'restored')
  const result = restoreBackup({ backupPath, dataDir: restoredDir, passphrase: null, masterKey: { kind: 'file', path: masterKey.path }, force: false })
  expect(result.ok).toBe(true)
  expect(readdirSync(join(restoredDir, 'files')).sort()).toEqual([imageId, textId].sort())
  const restored = openStore({ dataDir: restoredDir, masterKey: { kind: 'file', path: masterKey.path }, now: Date.now })
  try {
    expect(Buffer.from((await restored.files.readBytes(owner, textId, 10 ** 8))!).toString()).toBe(TEXT)
    expect(Buffer.from((await restored.files.readBytes(owner, imageId, 10 ** 8))!).equals(IMAGE)).toBe(true)
    expect((await restored.ragDocuments.readChunk((await restored.ragDocuments.findDocumentForUser(owner, document.id))!, 0))?.text).toBe(`${MARKERS.chunkText} first passage`)
  } finally {
    restored.close()
  }
})

test('the scan does find plaintext when some is written (the check above can fail)', async () => {
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
