-- Schema 8: second factors. A user's TOTP secret is sealed under their data key; enabled_at is null
-- until a first correct code confirms it, and last_used_step is the newest time step accepted, so a
-- code is good once. Recovery codes are stored as SHA-256 of (user id, code) and are used once.
-- A passkey's credential id and public key are sealed; credential_index (SHA-256 of the credential
-- id) finds it at passwordless sign-in, and sign_count refuses a cloned authenticator's stale counter.
CREATE TABLE totp_factor (
  user_id        TEXT PRIMARY KEY REFERENCES user (id) ON DELETE CASCADE,
  secret         BLOB NOT NULL,
  enabled_at     INTEGER,
  last_used_step INTEGER,
  created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_code (
  user_id    TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  code_hash  BLOB NOT NULL,
  used_at    INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE passkey (
  id               TEXT PRIMARY KEY,
  user_id          TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  credential_index BLOB NOT NULL UNIQUE,
  credential_id    BLOB NOT NULL,
  public_key       BLOB NOT NULL,
  name             BLOB NOT NULL,
  sign_count       INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  last_used_at     INTEGER
) STRICT;
CREATE INDEX passkey_by_user ON passkey (user_id);
