import schema001 from './migrations/001-init.sql' with { type: 'text' }
import schema002 from './migrations/002-auth.sql' with { type: 'text' }
import schema003 from './migrations/003-chats.sql' with { type: 'text' }
import schema004 from './migrations/004-identities-groups.sql' with { type: 'text' }
import schema005 from './migrations/005-oidc-sessions.sql' with { type: 'text' }
import schema006 from './migrations/006-message-tree.sql' with { type: 'text' }
import schema007 from './migrations/007-folders.sql' with { type: 'text' }
import schema008 from './migrations/008-second-factors.sql' with { type: 'text' }
import schema009 from './migrations/009-access-control.sql' with { type: 'text' }
import schema010 from './migrations/010-workspace.sql' with { type: 'text' }
import schema011 from './migrations/011-files.sql' with { type: 'text' }
import schema012 from './migrations/012-knowledge.sql' with { type: 'text' }
import schema013 from './migrations/013-chat-page-index.sql' with { type: 'text' }
import schema014 from './migrations/014-message-index.sql' with { type: 'text' }
import postgres001 from './migrations/postgresql/001-init.sql' with { type: 'text' }
import postgres002 from './migrations/postgresql/002-auth.sql' with { type: 'text' }
import postgres003 from './migrations/postgresql/003-chats.sql' with { type: 'text' }
import postgres004 from './migrations/postgresql/004-identities-groups.sql' with { type: 'text' }
import postgres005 from './migrations/postgresql/005-oidc-sessions.sql' with { type: 'text' }
import postgres006 from './migrations/postgresql/006-message-tree.sql' with { type: 'text' }
import postgres007 from './migrations/postgresql/007-folders.sql' with { type: 'text' }
import postgres008 from './migrations/postgresql/008-second-factors.sql' with { type: 'text' }
import postgres009 from './migrations/postgresql/009-access-control.sql' with { type: 'text' }
import postgres010 from './migrations/postgresql/010-workspace.sql' with { type: 'text' }
import postgres011 from './migrations/postgresql/011-files.sql' with { type: 'text' }
import postgres012 from './migrations/postgresql/012-knowledge.sql' with { type: 'text' }
import postgres013 from './migrations/postgresql/013-chat-page-index.sql' with { type: 'text' }
import postgres014 from './migrations/postgresql/014-message-index.sql' with { type: 'text' }

/**
 * A numbered, forward-only schema step. Version N brings a database from N-1 to N: `sql` on SQLite,
 * `postgresql` on PostgreSQL (migrations/postgresql/, the same tables, columns and indexes; every
 * step of `migrations` has one, which migrate-postgres.test.ts checks).
 */
export type Migration = { readonly version: number; readonly name: string; readonly sql: string; readonly postgresql?: string }

// note: imported as text so `bun build --compile` embeds them; append new files here in order, each
// with its PostgreSQL version.
export const migrations: readonly Migration[] = [
  { version: 1, name: '001-init', sql: schema001, postgresql: postgres001 },
  { version: 2, name: '002-auth', sql: schema002, postgresql: postgres002 },
  { version: 3, name: '003-chats', sql: schema003, postgresql: postgres003 },
  { version: 4, name: '004-identities-groups', sql: schema004, postgresql: postgres004 },
  { version: 5, name: '005-oidc-sessions', sql: schema005, postgresql: postgres005 },
  { version: 6, name: '006-message-tree', sql: schema006, postgresql: postgres006 },
  { version: 7, name: '007-folders', sql: schema007, postgresql: postgres007 },
  { version: 8, name: '008-second-factors', sql: schema008, postgresql: postgres008 },
  { version: 9, name: '009-access-control', sql: schema009, postgresql: postgres009 },
  { version: 10, name: '010-workspace', sql: schema010, postgresql: postgres010 },
  { version: 11, name: '011-files', sql: schema011, postgresql: postgres011 },
  { version: 12, name: '012-knowledge', sql: schema012, postgresql: postgres012 },
  { version: 13, name: '013-chat-page-index', sql: schema013, postgresql: postgres013 },
  { version: 14, name: '014-message-index', sql: schema014, postgresql: postgres014 },
]

export const LATEST_SCHEMA_VERSION = migrations.length
