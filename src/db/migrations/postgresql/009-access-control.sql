-- Schema 9 on PostgreSQL (see ../009-access-control.sql).
ALTER TABLE user_group ADD COLUMN description BYTEA;
ALTER TABLE user_group ADD COLUMN permissions TEXT;
ALTER TABLE user_group ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

ALTER TABLE api_key ADD COLUMN allowed_models BYTEA;

CREATE TABLE model_grant (
  model_id       TEXT PRIMARY KEY,
  access_control TEXT,
  updated_at     BIGINT NOT NULL,
  updated_by     TEXT NOT NULL
);

CREATE TABLE model_grant_upgrade (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  pending    INTEGER NOT NULL,
  adopted    TEXT,
  adopted_at BIGINT
);
-- note: EXISTS is a boolean here, and pending an INTEGER flag as on SQLite.
INSERT INTO model_grant_upgrade (id, pending) SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM "user") THEN 1 ELSE 0 END;
