-- Schema 5 on PostgreSQL (see ../005-oidc-sessions.sql).
CREATE TABLE oidc_session (
  session_id    TEXT PRIMARY KEY REFERENCES session (id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  provider      TEXT NOT NULL,
  sid_index     BYTEA,
  id_token      BYTEA,
  access_token  BYTEA,
  refresh_token BYTEA,
  created_at    BIGINT NOT NULL
);
CREATE INDEX oidc_session_by_user ON oidc_session (user_id, provider, created_at);
CREATE INDEX oidc_session_by_sid ON oidc_session (sid_index);
