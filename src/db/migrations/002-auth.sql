-- Schema 2: sign-in. Password hashes, user agents, IPs and key names are sealed under the user's
-- data key; API keys are stored only as their SHA-256.

CREATE TABLE credential (
  user_id       TEXT PRIMARY KEY REFERENCES user (id) ON DELETE CASCADE,
  password_hash BLOB NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;

-- One row per issued session token (id = the token's jti). A token is accepted only while its row
-- exists, is not revoked and has not expired.
CREATE TABLE session (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  user_agent   BLOB,
  ip           BLOB
) STRICT;
CREATE INDEX session_by_user ON session (user_id);

CREATE TABLE api_key (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  key_hash     BLOB NOT NULL UNIQUE,
  name         BLOB NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER
) STRICT;
CREATE INDEX api_key_by_user ON api_key (user_id);
