-- Schema 9: who may use what (Open WebUI's groups, permissions and model grants).

-- Local groups carry a description (sealed under the system key, like the name) and Open WebUI's
-- permission tree (JSON of section -> flag -> boolean: no user text, so stored as it is).
ALTER TABLE user_group ADD COLUMN description BLOB;
ALTER TABLE user_group ADD COLUMN permissions TEXT;
ALTER TABLE user_group ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;

-- An API key may be limited to some models: their ids as a JSON array, sealed under the owner's
-- key (a workspace model's id is the user's own text). NULL means every model the owner may use.
ALTER TABLE api_key ADD COLUMN allowed_models BLOB;

-- The access_control of each base model (Ollama's, by canonical name: lower case, with its tag).
-- access_control is Open WebUI's JSON ({read: {group_ids, user_ids}, write: ...}), or NULL for
-- public; it holds ids only. A model without a row is for admins only (BYPASS_MODEL_ACCESS_CONTROL
-- aside). updated_by is the admin's id, or 'upgrade' for a model made public by the upgrade below.
CREATE TABLE model_grant (
  model_id       TEXT PRIMARY KEY,
  access_control TEXT,
  updated_at     INTEGER NOT NULL,
  updated_by     TEXT NOT NULL
) STRICT;

-- Upgrading must not take models away: on a database that already had accounts, the models Ollama
-- lists at the first start with grants become public (pending until a listing succeeds); on a new
-- database nothing is pending. adopted lists the model ids made public, for the admin page.
CREATE TABLE model_grant_upgrade (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  pending    INTEGER NOT NULL,
  adopted    TEXT,
  adopted_at INTEGER
) STRICT;
INSERT INTO model_grant_upgrade (id, pending) SELECT 1, EXISTS (SELECT 1 FROM user);
