-- Schema 12 on PostgreSQL (see ../012-knowledge.sql).
CREATE TABLE knowledge (
  id             TEXT PRIMARY KEY,
  user_id        TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  name           BYTEA NOT NULL,
  description    BYTEA,
  data           BYTEA,
  access_control TEXT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX knowledge_by_user ON knowledge (user_id);

CREATE TABLE knowledge_file (
  knowledge_id TEXT NOT NULL REFERENCES knowledge (id) ON DELETE CASCADE,
  file_id      TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (knowledge_id, file_id)
);
CREATE INDEX knowledge_file_by_file ON knowledge_file (file_id);

CREATE TABLE rag_document (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
  file_id     TEXT,
  name        BYTEA NOT NULL,
  model       TEXT NOT NULL,
  dimensions  INTEGER NOT NULL,
  chunk_count BIGINT NOT NULL,
  created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX rag_document_by_file ON rag_document (user_id, file_id);

CREATE TABLE rag_chunk (
  document_id TEXT NOT NULL REFERENCES rag_document (id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  content     BYTEA NOT NULL,
  PRIMARY KEY (document_id, position)
);

CREATE TABLE rag_embedding (
  document_id TEXT NOT NULL REFERENCES rag_document (id) ON DELETE CASCADE,
  block       INTEGER NOT NULL,
  vectors     BYTEA NOT NULL,
  PRIMARY KEY (document_id, block)
);

-- A deleted file takes its chunks and embeddings with it, and leaves the knowledge bases that listed it.
CREATE FUNCTION rag_document_of_deleted_file() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM rag_document WHERE file_id = OLD.id AND user_id = OLD.user_id;
  DELETE FROM knowledge_file WHERE file_id = OLD.id;
  RETURN OLD;
END
$$;
CREATE TRIGGER rag_document_of_deleted_file AFTER DELETE ON file
  FOR EACH ROW EXECUTE FUNCTION rag_document_of_deleted_file();
