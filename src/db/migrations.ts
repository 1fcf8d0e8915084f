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

/** A numbered, forward-only schema step. Version N brings a database from N-1 to N. */
export type Migration = { readonly version: number; readonly name: string; readonly sql: string }

// note: imported as text so `bun build --compile` embeds them; append new files here in order.
export const migrations: readonly Migration[] = [
  { version: 1, name: '001-init', sql: schema001 },
  { version: 2, name: '002-auth', sql: schema002 },
  { version: 3, name: '003-chats', sql: schema003 },
  { version: 4, name: '004-identities-groups', sql: schema004 },
  { version: 5, name: '005-oidc-sessions', sql: schema005 },
  { version: 6, name: '006-message-tree', sql: schema006 },
  { version: 7, name: '007-folders', sql: schema007 },
  { version: 8, name: '008-second-factors', sql: schema008 },
  { version: 9, name: '009-access-control', sql: schema009 },
  { version: 10, name: '010-workspace', sql: schema010 },
  { version: 11, name: '011-files', sql: schema011 },
  { version: 12, name: '012-knowledge', sql: schema012 },
]

export const LATEST_SCHEMA_VERSION = migrations.length
