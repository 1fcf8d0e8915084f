-- Schema 6 on PostgreSQL (see ../006-message-tree.sql for the why): messages become a tree, the
-- rows of schema 5 carried over the same way.
CREATE TABLE message_tree (
  id         BIGINT PRIMARY KEY,
  chat_seq   BIGINT NOT NULL REFERENCES chat (seq) ON DELETE CASCADE,
  uid        TEXT NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
  parent_id  BIGINT,
  role       TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  status     TEXT CHECK (status IN ('done', 'pending', 'cancelled')),
  content    BYTEA NOT NULL,
  digest     BYTEA,
  created_at BIGINT NOT NULL
);

INSERT INTO message_tree (id, chat_seq, uid, parent_id, role, status, content, created_at)
  SELECT m.id, m.chat_seq, CAST(m.id AS TEXT),
    (SELECT max(p.id) FROM message p WHERE p.chat_seq = m.chat_seq AND p.id < m.id),
    m.role, CASE WHEN m.role = 'assistant' THEN 'done' END, m.content, m.created_at
  FROM message m;

CREATE TABLE message_legacy (
  id        BIGINT PRIMARY KEY,
  model     BYTEA,
  images    BYTEA,
  artifacts BYTEA,
  stats     BYTEA
);

INSERT INTO message_legacy (id, model, images, artifacts, stats)
  SELECT id, model, images, artifacts, stats FROM message
  WHERE model IS NOT NULL OR images IS NOT NULL OR artifacts IS NOT NULL OR stats IS NOT NULL;

-- Messages up to this id were sealed without the chat id in their AAD (meta.value: the number as UTF-8 text).
INSERT INTO meta (name, value) SELECT 'message_legacy_aad_up_to', convert_to(CAST(max(id) AS TEXT), 'UTF8') FROM message HAVING count(*) > 0;

DROP TABLE message;
ALTER TABLE message_tree RENAME TO message;
CREATE INDEX message_by_chat ON message (chat_seq, id);
CREATE UNIQUE INDEX message_uid_in_chat ON message (chat_seq, uid);

ALTER TABLE chat ADD COLUMN current_id BIGINT;
ALTER TABLE chat ADD COLUMN folder_id TEXT;
ALTER TABLE chat ADD COLUMN models BYTEA;
ALTER TABLE chat ADD COLUMN params BYTEA;
ALTER TABLE chat ADD COLUMN system BYTEA;
ALTER TABLE chat ADD COLUMN tags BYTEA;
ALTER TABLE chat ADD COLUMN extra BYTEA;

UPDATE chat SET current_id = (SELECT max(m.id) FROM message m WHERE m.chat_seq = chat.seq);
