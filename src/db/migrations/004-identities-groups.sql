-- Schema 4: accounts held elsewhere (an LDAP directory, an OpenID provider) linked to local users,
-- and groups. Subjects and group names are sealed; lookups go through blind indexes.

-- One external account linked to one local user. subject_index is the blind index of
-- (provider, subject), so a directory entry or an OpenID (issuer, sub) pair finds its user without
-- the subject in the clear. provider is 'ldap' or 'oidc:<provider id>'.
CREATE TABLE identity (
  subject_index BLOB PRIMARY KEY,
  provider      TEXT NOT NULL,
  user_id       TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  subject       BLOB NOT NULL,
  created_at    INTEGER NOT NULL,
  last_login_at INTEGER NOT NULL
) STRICT;
CREATE INDEX identity_by_user ON identity (user_id);

-- Groups, sealed under the system data key. source says who manages the group's members:
-- 'local' (admins), 'ldap' or 'oidc'.
CREATE TABLE user_group (
  id         TEXT PRIMARY KEY,
  name_index BLOB NOT NULL UNIQUE,
  name       BLOB NOT NULL,
  source     TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- Memberships remember who made them, so a sign-in that syncs one source's memberships leaves the
-- others alone.
CREATE TABLE group_member (
  group_id TEXT NOT NULL REFERENCES user_group (id) ON DELETE CASCADE,
  user_id  TEXT NOT NULL REFERENCES user (id) ON DELETE CASCADE,
  source   TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX group_member_by_user ON group_member (user_id);
