-- Schema 1. Sensitive values are BLOBs in the field-cipher format (src/crypto/field-cipher.ts);
-- plain columns are only ids, foreign keys, roles, flags and timestamps (unix ms) that queries need.

-- Facts about the database itself: the master key's check value and fingerprint, the KDF salt.
CREATE TABLE meta (
  name  TEXT PRIMARY KEY,
  value ANY NOT NULL
) STRICT;

-- Data keys, each wrapped (sealed) under the master key. owner_id is a user id or 'system'.
CREATE TABLE data_key (
  owner_id   TEXT NOT NULL,
  version    INTEGER NOT NULL CHECK (version > 0),
  wrapped    BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner_id, version)
) STRICT;

CREATE TABLE user (
  id          TEXT PRIMARY KEY,
  email_index BLOB NOT NULL UNIQUE,  -- HMAC of the normalised email under the blind-index key
  email       BLOB NOT NULL,
  name        BLOB NOT NULL,
  preferences BLOB,
  role        TEXT NOT NULL CHECK (role IN ('admin', 'user', 'pending')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

-- seq is the chat's internal key: messages refer to it as a small integer rather than repeating
-- the 36-character public id in every row and index entry.
CREATE TABLE chat (
  seq        INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  user_id    TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  title      BLOB NOT NULL,
  pinned     INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
  archived   INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX chat_by_user_updated ON chat (user_id, updated_at DESC);

-- Message ids come from reserved blocks (src/db/id-blocks.ts): they only grow and are never
-- handed out twice, so an old ciphertext can't be replayed into a new row with a reused id.
CREATE TABLE message (
  id         INTEGER PRIMARY KEY,
  chat_seq   INTEGER NOT NULL REFERENCES chat (seq) ON DELETE CASCADE,
  parent_id  INTEGER,
  role       TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  model      BLOB,
  content    BLOB NOT NULL,
  images     BLOB,
  artifacts  BLOB,
  stats      BLOB,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX message_by_chat ON message (chat_seq, id);

-- Server-wide settings, sealed under the 'system' data key.
CREATE TABLE setting (
  name       TEXT PRIMARY KEY,
  value      BLOB NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
