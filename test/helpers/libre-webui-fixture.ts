/**
 * Builds Libre WebUI databases for import tests the way Libre WebUI makes them: the tables of its
 * backend/src/db.ts (initializeTables plus runMigrations' added columns), values sealed by its
 * EncryptionService.encrypt (AES-256-GCM, random 16-byte IV, hex `iv:tag:ciphertext`, no
 * associated data, the raw key from ENCRYPTION_KEY's 64 hex characters) and passwords hashed by
 * bcrypt as its userModel does (cost 12 there; 4 here, for speed). Rows can also be written in
 * plaintext, as its older versions left them.
 */
import { Database } from 'bun:sqlite'
import { createCipheriv, randomBytes } from 'node:crypto'

export const LIBRE_WEBUI_SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL, email TEXT UNIQUE, password_hash TEXT NOT NULL,
  role TEXT DEFAULT 'user', created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, user_id TEXT DEFAULT 'default', title TEXT NOT NULL, model TEXT NOT NULL, persona_id TEXT,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE, FOREIGN KEY (persona_id) REFERENCES personas(id) ON DELETE SET NULL
);
CREATE TABLE IF NOT EXISTS session_messages (
  id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, timestamp INTEGER NOT NULL,
  message_index INTEGER NOT NULL, model TEXT, images TEXT, statistics TEXT, artifacts TEXT,
  FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY, user_id TEXT DEFAULT 'default', filename TEXT NOT NULL, title TEXT, content TEXT, metadata TEXT,
  uploaded_at INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_preferences (
  id TEXT PRIMARY KEY, user_id TEXT DEFAULT 'default', key TEXT NOT NULL, value TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(user_id, key)
);
CREATE TABLE IF NOT EXISTS personas (
  id TEXT PRIMARY KEY, user_id TEXT DEFAULT 'default', name TEXT NOT NULL, description TEXT, model TEXT NOT NULL,
  parameters TEXT NOT NULL, avatar TEXT, background TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  embedding_model TEXT, memory_settings TEXT, mutation_settings TEXT
);
`

/** Libre WebUI's EncryptionService.encrypt, as its code does it. */
export function encryptLikeLibre(plaintext: string, keyHex: string): string {
  const iv = randomBytes(16)
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), iv)
  const encrypted = cipher.update(plaintext, 'utf8', 'hex') + cipher.final('hex')
  return `${iv.toString('hex')}:${cipher.getAuthTag().toString('hex')}:${encrypted}`
}

/** How a fixture value is stored: sealed under the database's key (the default), left in plaintext, or sealed under another key. */
export type Sealing = 'key' | 'plain' | { otherKey: string }

export type LibreUser = { id: string; username: string; email: string | null; password: string | null; role: string; emailSealing?: Sealing; createdAt?: number }
export type LibreMessage = { role: string; content: string; model?: string; images?: string[]; statistics?: Record<string, unknown>; artifacts?: unknown[]; sealing?: Sealing }
export type LibreSession = { id: string; userId: string; title: string; messages: LibreMessage[]; titleSealing?: Sealing; createdAt?: number }

/** Writes Libre WebUI's data.sqlite at path, sealing values under keyHex unless a row says otherwise. */
export async function writeLibreWebUiDatabase(path: string, keyHex: string, fixture: { users: LibreUser[]; sessions: LibreSession[]; preferences?: { userId: string; key: string; value: unknown; sealing?: Sealing }[] }): Promise<void> {
  const seal = (text: string, sealing: Sealing = 'key') => (sealing === 'plain' ? text : encryptLikeLibre(text, sealing === 'key' ? keyHex : sealing.otherKey))
  const db = new Database(path, { create: true })
  db.run('PRAGMA journal_mode = WAL')
  db.run(LIBRE_WEBUI_SCHEMA)
  const now = 1_735_000_000_000
  for (const user of fixture.users) {
    // note: Libre WebUI's default user of single-user mode has the literal password_hash 'default'.
    const hash = user.password === null ? 'default' : await Bun.password.hash(user.password, { algorithm: 'bcrypt', cost: 4 })
    db.run('INSERT INTO users (id, username, email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [user.id, user.username, user.email === null ? null : seal(user.email, user.emailSealing), hash, user.role, user.createdAt ?? now, now])
  }
  for (const session of fixture.sessions) {
    db.run('INSERT INTO sessions (id, user_id, title, model, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      [session.id, session.userId, seal(session.title, session.titleSealing), 'llama3.2', session.createdAt ?? now, (session.createdAt ?? now) + 1000])
    session.messages.forEach((message, index) => {
      const json = (value: unknown) => (value === undefined ? null : seal(JSON.stringify(value), message.sealing))
      db.run('INSERT INTO session_messages (id, session_id, role, content, timestamp, message_index, model, images, statistics, artifacts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [crypto.randomUUID(), session.id, message.role, seal(message.content, message.sealing), now + index, index, message.model ?? null, json(message.images), json(message.statistics), json(message.artifacts)])
    })
  }
  for (const preference of fixture.preferences ?? []) {
    db.run('INSERT INTO user_preferences (id, user_id, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      [crypto.randomUUID(), preference.userId, preference.key, seal(JSON.stringify(preference.value), preference.sealing), now, now])
  }
  db.run("INSERT INTO documents (id, user_id, filename, uploaded_at, created_at, updated_at) VALUES ('d1', 'default', 'notes.pdf', 1, 1, 1)")
  db.close()
}
