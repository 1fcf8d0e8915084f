import { afterEach, beforeEach, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChatTree } from './chat-tree.ts'
import { DATABASE_FILE, openStore, type Store } from './open-store.ts'

// Folder names, data and meta, tag names and shared snapshots never reach disk in plaintext
// (the pattern of plaintext-at-rest.test.ts).

const MARKERS = {
  folder: 'MARKER-FOLDER-4b1d',
  folderData: 'MARKER-FOLDERDATA-90ce',
  folderMeta: 'MARKER-FOLDERMETA-13aa',
  renamed: 'MARKER-FOLDERRENAMED-77e2',
  tag: 'MARKER-TAGNAME-5c3f',
  share: 'MARKER-SHARE-e6a8',
}

let dataDir = ''
beforeEach(() => { dataDir = join(mkdtempSync(join(tmpdir(), 'enclave-')), 'data') })
afterEach(() => { rmSync(join(dataDir, '..'), { recursive: true, force: true }) })

const masterKey = () => ({ kind: 'generated', path: join(dataDir, '.encryption_key') }) as const

function fillStore(store: Store) {
  const result = store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user', preferences: {} })
  if (!result.ok) throw new Error(result.reason)
  const owner = result.user.id
  const made = store.folders.createFolder(owner, { name: MARKERS.folder, data: { system_prompt: MARKERS.folderData }, meta: { note: MARKERS.folderMeta } })
  if (!made.ok) throw new Error(made.reason)
  const child = store.folders.createFolder(owner, { name: MARKERS.renamed }, made.folder.id)
  if (!child.ok) throw new Error(child.reason)
  const chat = store.chats.createChat(owner, 'plain title')
  store.chatTags.addTagToChat(owner, chat.id, `${MARKERS.tag} Word`)
  const tree = store.chats.readChatTree(owner, chat.id)!
  const snapshot: ChatTree = { ...tree, chat: { ...tree.chat, title: MARKERS.share } }
  const shareId = store.chatShares.shareChat(owner, chat.id, snapshot)!
  return { owner, folderId: made.folder.id, chatId: chat.id, shareId }
}

function markersOnDisk(): string[] {
  const found: string[] = []
  for (const name of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]) {
    const path = join(dataDir, name)
    if (!existsSync(path)) continue
    const bytes = readFileSync(path)
    for (const marker of Object.values(MARKERS)) {
      for (const form of [marker, marker.toLowerCase(), marker.toLowerCase().replaceAll(' ', '_')]) {
        if (bytes.indexOf(Buffer.from(form, 'utf8')) !== -1) found.push(`${form} in ${name}`)
      }
    }
  }
  return found
}

test('no folder name, folder data, tag or shared snapshot appears on disk, and reopening reads them back', () => {
  const first = openStore({ dataDir, masterKey: masterKey(), now: Date.now })
  const { owner, folderId, chatId, shareId } = fillStore(first)
  expect(markersOnDisk()).toEqual([])
  first.close()
  expect(markersOnDisk()).toEqual([])

  const store = openStore({ dataDir, masterKey: masterKey(), now: Date.now })
  try {
    expect(store.folders.findFolderForUser(owner, folderId)).toMatchObject({
      name: MARKERS.folder, data: { system_prompt: MARKERS.folderData }, meta: { note: MARKERS.folderMeta },
    })
    expect(store.folders.listFoldersForUser(owner).map((folder) => folder.name).sort()).toEqual([MARKERS.folder, MARKERS.renamed].sort())
    expect(store.chatTags.listTagsOfChat(owner, chatId)).toEqual([{ id: `${MARKERS.tag.toLowerCase()}_word`, name: `${MARKERS.tag} Word` }])
    expect(store.chatShares.readShare(shareId)?.snapshot.chat.title).toBe(MARKERS.share)
  } finally {
    store.close()
  }
  expect(markersOnDisk()).toEqual([])
})
