/**
 * Builds Open WebUI databases for import tests, with the tables as Open WebUI's SQLAlchemy models
 * and Alembic migrations create them in SQLite (user, auth, chat, alembic_version).
 */
import { Database } from 'bun:sqlite'

export const OPEN_WEBUI_SCHEMA = `
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TABLE user (
  id VARCHAR NOT NULL, name VARCHAR, email VARCHAR, role VARCHAR, profile_image_url TEXT,
  last_active_at BIGINT, updated_at BIGINT, created_at BIGINT, api_key VARCHAR, settings JSON, info JSON, oauth_sub TEXT,
  PRIMARY KEY (id), UNIQUE (api_key), UNIQUE (oauth_sub)
);
CREATE TABLE auth (id VARCHAR NOT NULL, email VARCHAR, password TEXT, active BOOLEAN, PRIMARY KEY (id));
CREATE TABLE chat (
  id VARCHAR NOT NULL, user_id VARCHAR, title TEXT, chat JSON, created_at BIGINT, updated_at BIGINT,
  share_id TEXT, archived BOOLEAN, pinned BOOLEAN, meta JSON DEFAULT '{}' NOT NULL, folder_id TEXT,
  PRIMARY KEY (id), UNIQUE (share_id)
);
`

export type FixtureUser = { id: string; name: string; email: string; role: string; password: string | null; active?: boolean; createdAt?: number; passwordHash?: string }
export type FixtureMessage = { id: string; parentId: string | null; role: string; content: string; model?: string }
export type FixtureChat = { id: string; userId: string; title: string; messages: FixtureMessage[]; currentId: string | null; pinned?: boolean; archived?: boolean; updatedAt?: number; rawChat?: string }

/** Open WebUI's chat JSON: the messages as a flat list and as the history tree. */
export function chatJson(chat: FixtureChat): string {
  const children = (id: string) => chat.messages.filter((message) => message.parentId === id).map((message) => message.id)
  const history = Object.fromEntries(chat.messages.map((message) => [message.id, { ...message, childrenIds: children(message.id), timestamp: 1_700_000_000 }]))
  return JSON.stringify({ id: '', title: chat.title, models: ['llama3.2'], params: {}, history: { messages: history, currentId: chat.currentId }, messages: chat.messages, tags: [], timestamp: 1_700_000_000_000, files: [] })
}

/** Writes a webui.db at path with the users (bcrypt hashes of their passwords, cost 4) and chats. */
export async function writeOpenWebUiDatabase(path: string, users: FixtureUser[], chats: FixtureChat[], schema = OPEN_WEBUI_SCHEMA): Promise<void> {
  const db = new Database(path, { create: true })
  db.run(schema)
  if (schema === OPEN_WEBUI_SCHEMA) db.run("INSERT INTO alembic_version VALUES ('3781e22d8b01')")
  for (const user of users) {
    const at = user.createdAt ?? 1_700_000_000
    db.run('INSERT INTO user (id, name, email, role, profile_image_url, last_active_at, updated_at, created_at, settings, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [user.id, user.name, user.email, user.role, '/user.png', at, at, at, '{}', null])
    const hash = user.passwordHash ?? (user.password === null ? '' : await Bun.password.hash(user.password, { algorithm: 'bcrypt', cost: 4 }))
    db.run('INSERT INTO auth (id, email, password, active) VALUES (?, ?, ?, ?)', [user.id, user.email, hash, user.active === false ? 0 : 1])
  }
  for (const chat of chats) {
    db.run('INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, pinned, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [chat.id, chat.userId, chat.title, chat.rawChat ?? chatJson(chat), 1_700_000_000, chat.updatedAt ?? 1_700_000_100, chat.archived === true ? 1 : 0, chat.pinned === true ? 1 : 0, '{}'])
  }
  db.close()
}

/**
 * Writes a webui.db of about `megabytes` MB: `users` users sharing chats of ~64 KB each (eight
 * 4 KB messages of random text), for tests that check the import's memory use.
 */
export async function writeLargeOpenWebUiDatabase(path: string, options: { megabytes: number; users: number }): Promise<void> {
  const users: FixtureUser[] = Array.from({ length: options.users }, (_, u) => ({ id: crypto.randomUUID(), name: `Large ${u}`, email: `large${u}@example.com`, role: 'user', password: `large password ${u}` }))
  await writeOpenWebUiDatabase(path, users, [])
  const db = new Database(path)
  const insert = db.query('INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, pinned, meta) VALUES (?, ?, ?, ?, 1700000000, 1700000100, 0, 0, \'{}\')')
  const chatCount = Math.ceil((options.megabytes * 1024 * 1024) / 65_536)
  db.transaction(() => {
    for (let c = 0; c < chatCount; c++) {
      const messages = Array.from({ length: 8 }, (_, m) => ({ id: `m${m}`, parentId: m === 0 ? null : `m${m - 1}`, role: m % 2 === 0 ? 'user' : 'assistant', content: Buffer.from(crypto.getRandomValues(new Uint8Array(3000))).toString('base64') }))
      const chat: FixtureChat = { id: crypto.randomUUID(), userId: users[c % users.length]!.id, title: `Large chat ${c}`, currentId: 'm7', messages }
      insert.run(chat.id, chat.userId, chat.title, chatJson(chat))
    }
  })()
  db.close()
}
