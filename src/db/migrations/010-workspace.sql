-- Schema 8: the workspace: model presets and prompts, as Open WebUI keeps them. Each belongs to one
-- user and is sealed under that user's data key: a preset's id (the model name chats use), name,
-- base model, meta (description, picture, suggested prompts, tags) and params (system prompt,
-- options); a prompt's command, title and content. Ids and commands are found by blind index, so
-- a lookup needs no plaintext. access_control is Open WebUI's grant, group and user ids only
-- (random UUIDs, no user text), kept plain so listings can decide before opening a row.
CREATE TABLE workspace_model (
  row_id         TEXT PRIMARY KEY,
  model_index    BLOB NOT NULL UNIQUE,
  user_id        TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  model_id       BLOB NOT NULL,
  base_model_id  BLOB NOT NULL,
  name           BLOB NOT NULL,
  meta           BLOB,
  params         BLOB,
  access_control TEXT,
  is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX workspace_model_by_user ON workspace_model (user_id);

CREATE TABLE prompt (
  row_id         TEXT PRIMARY KEY,
  command_index  BLOB NOT NULL UNIQUE,
  user_id        TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  command        BLOB NOT NULL,
  title          BLOB NOT NULL,
  content        BLOB NOT NULL,
  access_control TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX prompt_by_user ON prompt (user_id);
