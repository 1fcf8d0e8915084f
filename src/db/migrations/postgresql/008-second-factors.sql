-- Schema 8 on PostgreSQL (see ../008-second-factors.sql).
CREATE TABLE totp_factor (
  user_id        TEXT PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
  secret         BYTEA NOT NULL,
  enabled_at     BIGINT,
  last_used_step BIGINT,
  created_at     BIGINT NOT NULL
);

CREATE TABLE recovery_code (
  user_id    TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  code_hash  BYTEA NOT NULL,
  used_at    BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE passkey (
  id               TEXT PRIMARY KEY,
  user_id          TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  credential_index BYTEA NOT NULL UNIQUE,
  credential_id    BYTEA NOT NULL,
  public_key       BYTEA NOT NULL,
  name             BYTEA NOT NULL,
  sign_count       BIGINT NOT NULL,
  created_at       BIGINT NOT NULL,
  last_used_at     BIGINT
);
CREATE INDEX passkey_by_user ON passkey (user_id);
