-- Schema 10 on PostgreSQL (see ../010-workspace.sql).
CREATE TABLE workspace_model (
  row_id         TEXT PRIMARY KEY,
  model_index    BYTEA NOT NULL UNIQUE,
  user_id        TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  model_id       BYTEA NOT NULL,
  base_model_id  BYTEA NOT NULL,
  name           BYTEA NOT NULL,
  meta           BYTEA,
  params         BYTEA,
  access_control TEXT,
  is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX workspace_model_by_user ON workspace_model (user_id);

CREATE TABLE prompt (
  row_id         TEXT PRIMARY KEY,
  command_index  BYTEA NOT NULL UNIQUE,
  user_id        TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  command        BYTEA NOT NULL,
  title          BYTEA NOT NULL,
  content        BYTEA NOT NULL,
  access_control TEXT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX prompt_by_user ON prompt (user_id);
