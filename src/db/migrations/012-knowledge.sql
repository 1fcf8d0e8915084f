-- Schema: knowledge bases and retrieval. A knowledge base belongs to one user; its name,
-- description and data are sealed under the owner's data key, its grant (Open WebUI's
-- access_control: group and user ids, no content) is plain JSON so the server can decide who may
-- read it. A document is the extracted text of one file (or of text given directly), cut into
-- chunks; each chunk's text is sealed on its own and the embeddings (packed float32) in blocks,
-- so the search index opens only the embeddings and a search opens only the chunks it returns.
CREATE TABLE knowledge (
  id             TEXT PRIMARY KEY,
  user_id        TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  name           BLOB NOT NULL,
  description    BLOB,
  data           BLOB,
  access_control TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX knowledge_by_user ON knowledge (user_id);

CREATE TABLE knowledge_file (
  knowledge_id TEXT NOT NULL REFERENCES knowledge (id) ON DELETE CASCADE,
  file_id      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (knowledge_id, file_id)
) STRICT;
CREATE INDEX knowledge_file_by_file ON knowledge_file (file_id);

CREATE TABLE rag_document (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  file_id     TEXT,
  name        BLOB NOT NULL,
  model       TEXT NOT NULL,
  dimensions  INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX rag_document_by_file ON rag_document (user_id, file_id);

CREATE TABLE rag_chunk (
  document_id TEXT NOT NULL REFERENCES rag_document (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  content     BLOB NOT NULL,
  PRIMARY KEY (document_id, position)
) STRICT;

-- The embeddings of up to 64 consecutive chunks sealed together: one 3 KB vector a row would
-- take a 4 KB page each, and one seal a vector would make building an index slow.
CREATE TABLE rag_embedding (
  document_id TEXT NOT NULL REFERENCES rag_document (id) ON DELETE CASCADE,
  block       INTEGER NOT NULL,
  vectors     BLOB NOT NULL,
  PRIMARY KEY (document_id, block)
) STRICT;

-- A deleted file takes its chunks and embeddings with it, and leaves the knowledge bases that listed it.
CREATE TRIGGER rag_document_of_deleted_file AFTER DELETE ON file BEGIN
  DELETE FROM rag_document WHERE file_id = OLD.id AND user_id = OLD.user_id;
  DELETE FROM knowledge_file WHERE file_id = OLD.id;
END;
