-- Schema 11: uploaded files. A file's bytes are in DATA_DIR/files/<id>, encrypted chunk by chunk
-- under the file's own random key (src/crypto/chunk-cipher.ts); that key, the file's name, detected
-- type, metadata and extracted data (text, processing status) are sealed here under the owner's
-- data key. Size is plain: quotas are summed over it. A file_use row says what still refers to a
-- file (a chat's message, a knowledge base), so deleting one of them can tell whether the file is
-- still in use elsewhere.
CREATE TABLE file (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  name         BLOB NOT NULL,
  content_type BLOB NOT NULL,
  meta         BLOB,
  data         BLOB,
  hash         BLOB,
  file_key     BLOB NOT NULL,
  size         INTEGER NOT NULL CHECK (size >= 0),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX file_by_user ON file (user_id, created_at);

CREATE TABLE file_use (
  file_id TEXT NOT NULL REFERENCES file (id) ON DELETE CASCADE,
  kind    TEXT NOT NULL CHECK (kind IN ('chat', 'knowledge')),
  ref_id  TEXT NOT NULL,
  PRIMARY KEY (file_id, kind, ref_id)
) STRICT;
CREATE INDEX file_use_by_ref ON file_use (kind, ref_id);
