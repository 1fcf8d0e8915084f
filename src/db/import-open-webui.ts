/**
 * Imports what readOpenWebUiDatabase read into the store, encrypted on the way in, in one
 * transaction: either all of it lands or none. Idempotent: users and chats keep ids derived from
 * Open WebUI's, so a second run finds them and imports nothing twice. Password hashes are kept as
 * Open WebUI's bcrypt; sign-in accepts them and upgrades them to argon2id.
 */
import type { UserId } from './ids.ts'
import type { OpenWebUiData } from './open-webui-source.ts'
import type { Store } from './open-store.ts'

export type ImportCounts = {
  usersImported: number
  usersAlreadyThere: number
  /** Users whose email already belongs to another Enclave account; they and their chats are left out. */
  usersConflicting: number
  chatsImported: number
  chatsAlreadyThere: number
  /** Chats of users left out (see usersConflicting). */
  chatsLeftOut: number
  messagesImported: number
}

export function importOpenWebUi(store: Store, data: OpenWebUiData): ImportCounts {
  const counts: ImportCounts = { usersImported: 0, usersAlreadyThere: 0, usersConflicting: 0, chatsImported: 0, chatsAlreadyThere: 0, chatsLeftOut: 0, messagesImported: 0 }
  const chatExists = store.db.query<{ one: number }, [string]>('SELECT 1 AS one FROM chat WHERE id = ?')
  store.inTransaction(() => {
    const owners = new Map<string, UserId>()
    for (const user of data.users) {
      if (store.users.findUserById(user.id) !== null) {
        counts.usersAlreadyThere++
        owners.set(user.sourceId, user.id)
        continue
      }
      const created = store.users.createUser({ email: user.email, name: user.name, role: user.role, imported: { id: user.id, createdAt: user.createdAt } })
      if (!created.ok) {
        counts.usersConflicting++
        continue
      }
      if (user.passwordHash !== null) store.credentials.setPasswordHash(user.id, user.passwordHash)
      owners.set(user.sourceId, user.id)
      counts.usersImported++
    }
    for (const chat of data.chats) {
      const owner = owners.get(chat.ownerSourceId)
      if (owner === undefined) {
        counts.chatsLeftOut++
        continue
      }
      if (chatExists.get(chat.id) !== null) {
        counts.chatsAlreadyThere++
        continue
      }
      store.chats.createChatFromContent(owner, { ...chat.content, title: chat.title }, { id: chat.id, createdAt: chat.createdAt, updatedAt: chat.updatedAt })
      if (chat.pinned) store.chats.setChatPinned(owner, chat.id, true)
      if (chat.archived) store.chats.setChatArchived(owner, chat.id, true)
      counts.chatsImported++
      counts.messagesImported += chat.messageCount
    }
  })
  return counts
}
