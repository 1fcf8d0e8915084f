/**
 * Imports an open Open WebUI source into the store, encrypted on the way in, in one transaction:
 * either all of it lands or none. Chats are read from the source one at a time (see
 * open-webui-source.ts), and SQLite spills the transaction's pages to its WAL, so memory stays flat;
 * on PostgreSQL the same transaction runs on one connection of the engine.
 *
 * Threat: the source file may be made by someone who wants into an account here. An imported user
 * never merges into an existing account: a user whose email is taken is left out with their chats;
 * a user whose id is taken gets a fresh id, and so do their chats if theirs are taken. Idempotent: a
 * second run finds the users it made by email and id, and imports nothing twice. bcrypt hashes are
 * kept up to MAX_BCRYPT_COST (sign-in upgrades them to argon2id); a costlier one is not imported.
 */
import { bcryptCost, MAX_BCRYPT_COST } from '../crypto/bcrypt-cost.ts'
import { newChatId, newUserId, type UserId } from './ids.ts'
import type { OpenWebUiSource, SourceChat, SourceUser } from './open-webui-source.ts'
import type { Store } from './open-store.ts'

export type ImportCounts = {
  usersImported: number
  /** Users an earlier import made (same email, same id); their chats are not imported again. */
  usersAlreadyThere: number
  /** Users whose email already belongs to another Enclave account; they and their chats are left out. */
  usersConflicting: number
  chatsImported: number
  chatsAlreadyThere: number
  /** Chats of users not imported in this run (already here or left out) that are not here yet. */
  chatsLeftOut: number
  messagesImported: number
}

/** The counts, and one line for each user handled otherwise than as asked (named by email, never a hash). */
export type ImportReport = { counts: ImportCounts; notes: string[] }

export function importOpenWebUi(store: Store, source: OpenWebUiSource): Promise<ImportReport> {
  return importUsersAndChats(store, source, 'Open WebUI')
}

/** A checked source of another product: its users, and its chats read one at a time. */
export type AccountSource = { users: readonly SourceUser[]; chats(): Iterable<SourceChat> }

/**
 * Imports a checked source in one transaction, under the rules above; `product` names the source
 * in the notes, and `onChat` hears of each chat handled (for progress).
 */
export async function importUsersAndChats(store: Store, source: AccountSource, product: string, onChat: () => void = () => {}): Promise<ImportReport> {
  let counts = newCounts()
  let notes: string[] = []
  // note: every repository writes through the engine, so users and chats commit or roll back together on either engine.
  await store.sql.transaction(async () => {
    // note: PostgreSQL runs this again after a conflict with another instance: each run counts afresh.
    counts = newCounts()
    notes = []
    // note: only users created by this run receive chats; an existing account never does.
    const owners = new Map<string, UserId>()
    for (const user of source.users) {
      const owner = await importUser(store, user, product, counts, notes)
      if (owner !== null) owners.set(user.sourceId, owner)
    }
    for (const chat of source.chats()) {
      onChat()
      const owner = owners.get(chat.ownerSourceId)
      const taken = (await store.sql.get('SELECT 1 AS one FROM chat WHERE id = ?', chat.id)) !== null
      if (owner === undefined) {
        if (taken) counts.chatsAlreadyThere++
        else counts.chatsLeftOut++
        continue
      }
      const id = taken ? newChatId() : chat.id
      await store.chats.createChatFromContent(owner, { ...chat.content, title: chat.title }, { id, createdAt: chat.createdAt, updatedAt: chat.updatedAt })
      if (chat.pinned) await store.chats.setChatPinned(owner, id, true)
      if (chat.archived) await store.chats.setChatArchived(owner, id, true)
      counts.chatsImported++
      counts.messagesImported += chat.messageCount
    }
  })
  return { counts, notes }
}

const newCounts = (): ImportCounts => ({ usersImported: 0, usersAlreadyThere: 0, usersConflicting: 0, chatsImported: 0, chatsAlreadyThere: 0, chatsLeftOut: 0, messagesImported: 0 })

/** Creates the user as a new account and returns its id, or null when it is left out. */
async function importUser(store: Store, user: SourceUser, product: string, counts: ImportCounts, notes: string[]): Promise<UserId | null> {
  const sameEmail = await store.users.findUserByEmail(user.email)
  if (sameEmail !== null) {
    if (sameEmail.id === user.id) counts.usersAlreadyThere++
    else {
      counts.usersConflicting++
      notes.push(`Left out ${user.email}: that email belongs to an existing account here; its chats were not imported.`)
    }
    return null
  }
  let id = user.id
  if (await store.users.findUserById(id) !== null) {
    id = newUserId()
    notes.push(`${user.email}: its ${product} id belongs to another account here, so it was given a new one.`)
  }
  const created = await store.users.createUser({ email: user.email, name: user.name, role: user.role, imported: { id, createdAt: user.createdAt }, ...(user.preferences === undefined ? {} : { preferences: user.preferences }) })
  if (!created.ok) throw new Error(`unreachable: ${created.reason} after the email was found free`)
  const cost = user.passwordHash === null ? null : bcryptCost(user.passwordHash)
  if (cost !== null && cost > MAX_BCRYPT_COST) {
    notes.push(`${user.email}: its password hash (bcrypt cost ${cost}, above ${MAX_BCRYPT_COST}) was not imported; an admin must set a new password for this account.`)
  } else if (user.passwordHash !== null) await store.credentials.setPasswordHash(id, user.passwordHash)
  counts.usersImported++
  return id
}
