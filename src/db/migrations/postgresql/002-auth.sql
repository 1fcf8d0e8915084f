-- Schema 2 on PostgreSQL (see ../002-auth.sql).
CREATE TABLE credential (
  user_id       TEXT PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
  password_hash BYTEA NOT NULL,
  updated_at    BIGINT NOT NULL
);

CREATE TABLE session (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  created_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  user_agent   BYTEA,
  ip           BYTEA
);
CREATE INDEX session_by_user ON session (user_id);

CREATE TABLE api_key (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  key_hash     BYTEA NOT NULL UNIQUE,
  name         BYTEA NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  last_used_at BIGINT
);
CREATE INDEX api_key_by_user ON api_key (user_id);
