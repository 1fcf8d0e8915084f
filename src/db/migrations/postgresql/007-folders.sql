-- Schema 7 on PostgreSQL (see ../007-folders.sql).
CREATE TABLE folder (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  parent_id   TEXT,
  name        BYTEA NOT NULL,
  data        BYTEA,
  meta        BYTEA,
  is_expanded INTEGER NOT NULL DEFAULT 0 CHECK (is_expanded IN (0, 1)),
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX folder_by_user ON folder (user_id, parent_id);
CREATE INDEX chat_by_folder ON chat (user_id, folder_id);

ALTER TABLE chat ADD COLUMN tag_names BYTEA;

CREATE TABLE chat_share (
  id         TEXT PRIMARY KEY,
  chat_seq   BIGINT NOT NULL UNIQUE REFERENCES chat (seq) ON DELETE CASCADE,
  snapshot   BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
