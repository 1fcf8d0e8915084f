/**
 * Prompts, as Open WebUI keeps them: a `/command`, a title and content, with an `access_control`
 * grant. Each belongs to one user; the command, title and content are sealed under their data key.
 * A command is unique per owner and found by a blind index of (owner, command), so a lookup needs
 * no plaintext; two users may each have `/summary`. The grant holds only group and user ids, kept
 * plain so a listing can decide who may see a row before opening it. Access is decided by callers.
 */
import type { AccessControl } from '../auth/access-control.ts'
import { blindIndex } from '../crypto/blind-index.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

const promptTable = sealedTable('prompt', { command: 'text', title: 'text', content: 'text' })

export type Prompt = { id: string; ownerId: UserId; command: string; title: string; content: string; access: AccessControl; createdAt: number; updatedAt: number }

export type PromptInput = { title: string; content: string; access: AccessControl }

type PromptRow = {
  row_id: string; user_id: string; command: Uint8Array; title: Uint8Array; content: Uint8Array; access_control: string | null; created_at: number; updated_at: number
}

const parseAccess = (stored: string | null): AccessControl => (stored === null ? null : JSON.parse(stored) as AccessControl)
const storeAccess = (access: AccessControl): string | null => (access === null ? null : JSON.stringify(access))

export function createPromptRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number) {
  const selectRow = (id: string) => sql.get<PromptRow>('SELECT * FROM prompt WHERE row_id = ?', id)

  const commandIndex = async (owner: string, command: string) => blindIndex((await keys.ringFor(EMAIL_INDEX_OWNER)).current.key, 'prompt.command', `${owner}\0${command}`)
  const toPrompt = async (row: PromptRow): Promise<Prompt> => {
    const plain = promptTable.open(row.row_id, row, await keys.ringFor(row.user_id))
    return {
      id: row.row_id, ownerId: row.user_id as UserId, command: plain.command!, title: plain.title!, content: plain.content!,
      access: parseAccess(row.access_control), createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }

  return {
    /** The owner's prompt with this command, or null. */
    async findOwnPrompt(owner: UserId, command: string): Promise<Prompt | null> {
      const row = await sql.get<PromptRow>('SELECT * FROM prompt WHERE command_index = ?', await commandIndex(owner, command))
      return row === null ? null : await toPrompt(row)
    },

    /** The prompt with this id, whoever owns it (callers decide access); null when there is none. */
    async findPrompt(id: string): Promise<Prompt | null> {
      const row = await selectRow(id)
      return row === null ? null : await toPrompt(row)
    },

    /** Every prompt `isVisible` admits (asked with plain owner and grant, before anything is opened), newest first. */
    async listPrompts(isVisible: (grant: { ownerId: string; access: AccessControl }) => boolean): Promise<Prompt[]> {
      // note: one query for the rows; the grant is decided before any sealed column is opened.
      const rows = await sql.all<PromptRow>('SELECT * FROM prompt ORDER BY updated_at DESC, row_id')
      return Promise.all(rows.filter((row) => isVisible({ ownerId: row.user_id, access: parseAccess(row.access_control) })).map(toPrompt))
    },

    /** Creates the owner's prompt; refused when they already have one with this command. */
    createPrompt(owner: UserId, command: string, input: PromptInput): Promise<{ ok: true; prompt: Prompt } | { ok: false; reason: 'command_taken' }> {
      return sql.transaction(async () => {
        const index = await commandIndex(owner, command)
        if (await sql.get('SELECT 1 FROM prompt WHERE command_index = ?', index) !== null) return { ok: false as const, reason: 'command_taken' as const }
        const rowId = crypto.randomUUID()
        const at = now()
        const sealed = promptTable.seal(rowId, { command, title: input.title, content: input.content }, await keys.ringFor(owner))
        await sql.run('INSERT INTO prompt (row_id, command_index, user_id, command, title, content, access_control, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          rowId, index, owner, sealed.command!, sealed.title!, sealed.content!, storeAccess(input.access), at, at)
        return { ok: true as const, prompt: await toPrompt((await selectRow(rowId))!) }
      })
    },

    /** Replaces the prompt's title, content and grant (sealed under its owner's key); null when there is no such prompt. */
    async updatePrompt(id: string, input: PromptInput): Promise<Prompt | null> {
      const row = await selectRow(id)
      if (row === null) return null
      const key = await keys.ringFor(row.user_id)
      await sql.run('UPDATE prompt SET title = ?, content = ?, access_control = ?, updated_at = ? WHERE row_id = ?',
        promptTable.sealColumn('title', id, input.title, key)!, promptTable.sealColumn('content', id, input.content, key)!, storeAccess(input.access), now(), id)
      return await toPrompt((await selectRow(id))!)
    },

    /** Deletes the prompt; false when there is no such prompt. */
    async deletePrompt(id: string): Promise<boolean> {
      return (await sql.run('DELETE FROM prompt WHERE row_id = ?', id)).changes > 0
    },
  }
}

export type PromptRepo = ReturnType<typeof createPromptRepo>
