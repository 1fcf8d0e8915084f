-- Schema 4 on PostgreSQL (see ../004-identities-groups.sql).
CREATE TABLE identity (
  subject_index BYTEA PRIMARY KEY,
  provider      TEXT NOT NULL,
  user_id       TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  subject       BYTEA NOT NULL,
  created_at    BIGINT NOT NULL,
  last_login_at BIGINT NOT NULL
);
CREATE INDEX identity_by_user ON identity (user_id);

CREATE TABLE user_group (
  id         TEXT PRIMARY KEY,
  name_index BYTEA NOT NULL UNIQUE,
  name       BYTEA NOT NULL,
  source     TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE group_member (
  group_id TEXT NOT NULL REFERENCES user_group (id) ON DELETE CASCADE,
  user_id  TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  source   TEXT NOT NULL,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_member_by_user ON group_member (user_id);
