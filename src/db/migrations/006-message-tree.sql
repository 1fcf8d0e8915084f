-- Schema 6: a chat is a tree of messages, as Open WebUI keeps it. Each message names its parent
-- (an answer regenerated or a question edited is a sibling under the same parent), keeps the id
-- its client gave it (`uid`, unique in the chat), and says whether its answer finished (`status`).
-- The chat names the selected leaf (`current_id`) and holds the settings clients save with it.
--
-- Every existing chat was a list: it becomes a single branch, each message the child of the one
-- before, its integer id kept as its client id, the last message selected. Message fields are now
-- sealed with the chat's id in their AAD, and as one value per message (src/db/message-rows.ts), so
-- the rows written before are marked for re-sealing, which the store does at its next start, holding
-- the keys (src/db/message-aad-upgrade.ts). Until then their content stays where it was and their
-- other sealed fields wait in message_legacy, which that start empties.

CREATE TABLE message_tree (
  id         INTEGER PRIMARY KEY,
  chat_seq   INTEGER NOT NULL REFERENCES chat (seq) ON DELETE CASCADE,
  uid        TEXT NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
  parent_id  INTEGER,
  role       TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  -- NULL: the client stated nothing; 'done'; 'pending' (still streaming, or cut off); 'cancelled'.
  status     TEXT CHECK (status IN ('done', 'pending', 'cancelled')),
  -- Everything sensitive of the message sealed as one value, so opening a chat costs one decryption
  -- per message: its other fields (model, images, artifacts, stats, and what clients save besides,
  -- kept so a save round-trips) as JSON, a line feed, then its content (message-rows.ts).
  content    BLOB NOT NULL,
  -- A keyed digest of the sealed fields, to tell a changed message without opening it (message-rows.ts).
  digest     BLOB,
  created_at INTEGER NOT NULL
) STRICT;

INSERT INTO message_tree (id, chat_seq, uid, parent_id, role, status, content, created_at)
  SELECT m.id, m.chat_seq, CAST(m.id AS TEXT),
    (SELECT max(p.id) FROM message p WHERE p.chat_seq = m.chat_seq AND p.id < m.id),
    m.role, CASE WHEN m.role = 'assistant' THEN 'done' END, m.content, m.created_at
  FROM message m;

-- A schema-5 message's other sealed fields, each as it was sealed then, until the store re-seals
-- them into its message row; empty from then on.
CREATE TABLE message_legacy (
  id        INTEGER PRIMARY KEY,
  model     BLOB,
  images    BLOB,
  artifacts BLOB,
  stats     BLOB
) STRICT;

INSERT INTO message_legacy (id, model, images, artifacts, stats)
  SELECT id, model, images, artifacts, stats FROM message
  WHERE model IS NOT NULL OR images IS NOT NULL OR artifacts IS NOT NULL OR stats IS NOT NULL;

-- Messages up to this id were sealed without the chat id in their AAD.
INSERT INTO meta (name, value) SELECT 'message_legacy_aad_up_to', max(id) FROM message HAVING count(*) > 0;

DROP TABLE message;
ALTER TABLE message_tree RENAME TO message;
CREATE INDEX message_by_chat ON message (chat_seq, id);
CREATE UNIQUE INDEX message_uid_in_chat ON message (chat_seq, uid);

ALTER TABLE chat ADD COLUMN current_id INTEGER;
ALTER TABLE chat ADD COLUMN folder_id TEXT;
ALTER TABLE chat ADD COLUMN models BLOB;
ALTER TABLE chat ADD COLUMN params BLOB;
ALTER TABLE chat ADD COLUMN system BLOB;
ALTER TABLE chat ADD COLUMN tags BLOB;
-- Other chat-level fields clients save (JSON), kept so a save round-trips.
ALTER TABLE chat ADD COLUMN extra BLOB;

UPDATE chat SET current_id = (SELECT max(m.id) FROM message m WHERE m.chat_seq = chat.seq);
