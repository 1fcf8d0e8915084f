-- Schema 11 on PostgreSQL (see ../011-files.sql).
CREATE TABLE file (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  name         BYTEA NOT NULL,
  content_type BYTEA NOT NULL,
  meta         BYTEA,
  data         BYTEA,
  hash         BYTEA,
  file_key     BYTEA NOT NULL,
  size         BIGINT NOT NULL CHECK (size >= 0),
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT NOT NULL
);
CREATE INDEX file_by_user ON file (user_id, created_at);

CREATE TABLE file_use (
  file_id TEXT NOT NULL REFERENCES file (id) ON DELETE CASCADE,
  kind    TEXT NOT NULL CHECK (kind IN ('chat', 'knowledge')),
  ref_id  TEXT NOT NULL,
  PRIMARY KEY (file_id, kind, ref_id)
);
CREATE INDEX file_use_by_ref ON file_use (kind, ref_id);
