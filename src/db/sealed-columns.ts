/**
 * Where sealed values live: every encrypted column of the schema, with the SQL that names each
 * row's id (the one its AAD binds) and its owner (whose data key seals it). Key status, verify,
 * data key rotation and the raw-file tests walk this list; a test checks it against the schema, so
 * a new encrypted column that is not listed here fails the build instead of escaping rotation. The
 * SQL runs on both engines: rows are walked by their primary key (no rowid), `user` is quoted.
 */
import type { SqlEngine } from './engine.ts'

export type SealedPlace = {
  table: string
  columns: readonly string[]
  /** FROM clause; the table itself is aliased t. */
  from: string
  /** SQL for the row id the AAD binds, and for the owner of the data key. */
  rowId: string
  owner: string
  /** The columns of the table's primary key (aliased t), in order: a cursor over its rows, and the row an update names. */
  key: readonly string[]
  /** The row id on PostgreSQL, when its SQL differs from SQLite's. */
  rowIdOnPostgresql?: string
  /** SQL condition selecting the rows of one owner (bound to ?). */
  ownedBy: string
}

export const sealedPlaces: readonly SealedPlace[] = [
  { table: 'user', columns: ['email', 'name', 'preferences'], from: '"user" t', rowId: 't.id', owner: 't.id', key: ['t.id'], ownedBy: 't.id = ?' },
  { table: 'credential', columns: ['password_hash'], from: 'credential t', rowId: 't.user_id', owner: 't.user_id', key: ['t.user_id'], ownedBy: 't.user_id = ?' },
  { table: 'session', columns: ['user_agent', 'ip'], from: 'session t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
  { table: 'api_key', columns: ['name', 'allowed_models'], from: 'api_key t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
  { table: 'chat', columns: ['title', 'models', 'params', 'system', 'tags', 'extra', 'tag_names'], from: 'chat t', rowId: 't.id', owner: 't.user_id', key: ['t.seq'], ownedBy: 't.user_id = ?' },
  {
    // note: a message's AAD binds its chat's id too (src/db/message-rows.ts).
    table: 'message', columns: ['content'],
    from: 'message t JOIN chat c ON c.seq = t.chat_seq', rowId: "c.id || '/' || t.id", owner: 'c.user_id', key: ['t.id'],
    ownedBy: 't.chat_seq IN (SELECT seq FROM chat WHERE user_id = ?)',
  },
  { table: 'setting', columns: ['value'], from: 'setting t', rowId: 't.name', owner: "'system'", key: ['t.name'], ownedBy: "'system' = ?" },
  // note: an identity's row id is its blind index in hex (src/db/identities.ts).
  { table: 'identity', columns: ['subject'], from: 'identity t', rowId: 'lower(hex(t.subject_index))', rowIdOnPostgresql: "encode(t.subject_index, 'hex')", owner: 't.user_id', key: ['t.subject_index'], ownedBy: 't.user_id = ?' },
  { table: 'user_group', columns: ['name', 'description'], from: 'user_group t', rowId: 't.id', owner: "'system'", key: ['t.id'], ownedBy: "'system' = ?" },
  { table: 'folder', columns: ['name', 'data', 'meta'], from: 'folder t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
  // note: a share is opened for any signed-in user with its link, so it is sealed under the system key.
  { table: 'chat_share', columns: ['snapshot'], from: 'chat_share t', rowId: 't.id', owner: "'system'", key: ['t.id'], ownedBy: "'system' = ?" },
  { table: 'workspace_model', columns: ['model_id', 'base_model_id', 'name', 'meta', 'params'], from: 'workspace_model t', rowId: 't.row_id', owner: 't.user_id', key: ['t.row_id'], ownedBy: 't.user_id = ?' },
  { table: 'prompt', columns: ['command', 'title', 'content'], from: 'prompt t', rowId: 't.row_id', owner: 't.user_id', key: ['t.row_id'], ownedBy: 't.user_id = ?' },
  { table: 'knowledge', columns: ['name', 'description', 'data'], from: 'knowledge t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
  { table: 'rag_document', columns: ['name'], from: 'rag_document t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
  {
    // note: a chunk's AAD binds its document and position, an embedding block's its document and block (src/db/rag-documents.ts).
    table: 'rag_chunk', columns: ['content'],
    from: 'rag_chunk t JOIN rag_document d ON d.id = t.document_id', rowId: "t.document_id || '/' || t.position", owner: 'd.user_id', key: ['t.document_id', 't.position'],
    ownedBy: 't.document_id IN (SELECT id FROM rag_document WHERE user_id = ?)',
  },
  {
    table: 'rag_embedding', columns: ['vectors'],
    from: 'rag_embedding t JOIN rag_document d ON d.id = t.document_id', rowId: "t.document_id || '/' || t.block", owner: 'd.user_id', key: ['t.document_id', 't.block'],
    ownedBy: 't.document_id IN (SELECT id FROM rag_document WHERE user_id = ?)',
  },
  // note: file_key is the random key of the file's encrypted bytes (src/db/files.ts); rotation re-seals it, the bytes stay under it.
  { table: 'file', columns: ['name', 'content_type', 'meta', 'data', 'hash', 'file_key'], from: 'file t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
  {
    table: 'oidc_session', columns: ['id_token', 'access_token', 'refresh_token'], from: 'oidc_session t', rowId: 't.session_id', owner: 't.user_id',
    key: ['t.session_id'], ownedBy: 't.user_id = ?',
  },
  { table: 'totp_factor', columns: ['secret'], from: 'totp_factor t', rowId: 't.user_id', owner: 't.user_id', key: ['t.user_id'], ownedBy: 't.user_id = ?' },
  { table: 'passkey', columns: ['credential_id', 'public_key', 'name'], from: 'passkey t', rowId: 't.id', owner: 't.user_id', key: ['t.id'], ownedBy: 't.user_id = ?' },
]

/** The SQL of the row id the AAD binds, on this engine. */
export const rowIdOf = (place: SealedPlace, dialect: SqlEngine['dialect']): string =>
  dialect === 'postgresql' ? place.rowIdOnPostgresql ?? place.rowId : place.rowId

/** The SQL condition of rows after a cursor (bound to the key's values, in order), for either engine. */
export const afterKey = (place: SealedPlace): string => place.key.length === 1 ? `${place.key[0]} > ?` : `(${place.key.join(', ')}) > (${place.key.map(() => '?').join(', ')})`

/** BLOB columns that are not sealed under a data key: blind indexes, hashes, wrapped keys, meta. */
export const unsealedBlobColumns: readonly string[] = [
  'user.email_index', 'api_key.key_hash', 'data_key.wrapped', 'meta.value', 'identity.subject_index', 'user_group.name_index', 'oidc_session.sid_index', 'message.digest',
  'recovery_code.code_hash', 'passkey.credential_index',
  'workspace_model.model_index', 'prompt.command_index',
  // note: sealed, but only between schema 6's migration and the store's next start, which re-seals
  // them into their message rows and empties the table before anything rotates keys
  // (message-aad-upgrade.ts); verify opens them in that window (verify-fields.ts).
  'message_legacy.model', 'message_legacy.images', 'message_legacy.artifacts', 'message_legacy.stats',
]
