-- Schema 7: chats organised as Open WebUI organises them. A folder belongs to one user and may sit
-- under another of theirs; its name, data and meta are sealed under the owner's data key. A chat's
-- tags are sealed in the chat row (their names, as the user typed them). A share is a sealed
-- snapshot of a chat, readable through its link by any signed-in user: the server opens it on
-- read, so it is sealed under the system data key, and it goes with its chat.
CREATE TABLE folder (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  parent_id   TEXT,
  name        BLOB NOT NULL,
  data        BLOB,
  meta        BLOB,
  is_expanded INTEGER NOT NULL DEFAULT 0 CHECK (is_expanded IN (0, 1)),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX folder_by_user ON folder (user_id, parent_id);
CREATE INDEX chat_by_folder ON chat (user_id, folder_id);

ALTER TABLE chat ADD COLUMN tag_names BLOB;

CREATE TABLE chat_share (
  id         TEXT PRIMARY KEY,
  chat_seq   INTEGER NOT NULL UNIQUE REFERENCES chat (seq) ON DELETE CASCADE,
  snapshot   BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
