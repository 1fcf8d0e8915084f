-- Schema 5: sessions started through single sign-on. The provider's tokens (ID, access, refresh)
-- are sealed under the user's data key; the provider's session id (sid) is found through a blind
-- index, so a back-channel logout can end exactly the sessions it names.
CREATE TABLE oidc_session (
  session_id    TEXT PRIMARY KEY REFERENCES session (id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  provider      TEXT NOT NULL,
  sid_index     BLOB,
  id_token      BLOB,
  access_token  BLOB,
  refresh_token BLOB,
  created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX oidc_session_by_user ON oidc_session (user_id, provider, created_at);
CREATE INDEX oidc_session_by_sid ON oidc_session (sid_index);
