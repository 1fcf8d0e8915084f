/**
 * Prompts as Open WebUI's workspace page and composer call them, under /api/v1/prompts:
 * GET / (every prompt the caller may read: the composer's `/` list), GET /list (those they may
 * edit, with their owner), POST /create (`{ command: "/name", title, content, access_control }`),
 * GET /command/{name}, POST /command/{name}/update, DELETE /command/{name}/delete, and the same by
 * id (GET /id/{id}, POST /id/{id}/update, DELETE /id/{id}/delete) as Open WebUI's newer page calls them.
 *
 * A command is unique per owner; looked up by name, the caller's own prompt comes first, then one
 * shared with them. Threat: reading or changing another user's prompt: one the caller may not read
 * is 404, as an unknown command; one they may read but not change is 403. Creating needs
 * `workspace.prompts`.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Permissions } from '../../auth/permissions.ts'
import type { Principal } from '../../auth/principal.ts'
import type { WorkspaceAccess } from '../../auth/workspace-access.ts'
import type { AddressList } from '../../config/network.ts'
import type { Prompt } from '../../db/prompts.ts'
import type { UserId } from '../../db/ids.ts'
import { profileImageOf, readUserPreferences } from '../../db/user-preferences.ts'
import { HttpError } from '../http-error.ts'
import { refusePublicUnlessPermitted } from '../permission-gate.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { AccessControlBody, seconds, toAccessControl } from './workspace-shapes.ts'

/** The largest prompt content, in characters. */
export const PROMPT_MAX_CHARS = 100_000
// note: letters and digits of any script, `-` and `_`, as the composer matches them after `/`.
const COMMAND = /^[\p{L}\p{N}_-]{1,64}$/u

const PromptBody = t.Object({
  command: t.String({ minLength: 1, maxLength: 70 }),
  title: t.String({ minLength: 1, maxLength: 200 }),
  content: t.String({ minLength: 1, maxLength: PROMPT_MAX_CHARS }),
  access_control: t.Optional(AccessControlBody),
})
const CommandParams = t.Object({ command: t.String({ minLength: 1, maxLength: 70 }) })
const IdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 64 }) })

/** The command without its slash, or a 400 when it has characters a command may not. */
function commandOf(raw: string): string {
  const name = raw.startsWith('/') ? raw.slice(1) : raw
  if (!COMMAND.test(name)) throw new HttpError(400, 'invalid_command', 'A command is letters, digits, - and _, at most 64 of them.')
  return name
}

/** The permission that lets a user make a prompt public (Open WebUI's USER_PERMISSIONS sharing.public_prompts). */
const PUBLIC_PROMPTS = 'sharing.public_prompts'

export type PromptRouteDeps = { auth: AuthDeps; trustedProxies: AddressList; access: WorkspaceAccess; permissions: Pick<Permissions, 'has'> }

export const promptRoutes = ({ auth, trustedProxies, access, permissions }: PromptRouteDeps) => {
  const repo = auth.store.prompts
  const ownerOf = async (id: UserId) => {
    const user = await auth.store.users.findUserById(id)
    return user === null ? null : { id: user.id, name: user.name, email: user.email, role: user.role, profile_image_url: profileImageOf(await readUserPreferences(auth.store.users, user.id)) }
  }
  /** Open WebUI's PromptModel (the command with its slash), with whether the caller may edit it. */
  const describe = async (prompt: Prompt, principal: Principal, withOwner = false) => ({
    id: prompt.id, command: `/${prompt.command}`, user_id: prompt.ownerId, title: prompt.title, content: prompt.content, timestamp: seconds(prompt.updatedAt),
    access_control: prompt.access, write_access: await access.may(principal.user, prompt, 'write'), ...(withOwner ? { user: await ownerOf(prompt.ownerId) } : {}),
  })
  /** The prompt named `command` the caller may `kind`: their own first, then one shared with them. */
  const promptFor = async (principal: Principal, command: string, kind: 'read' | 'write'): Promise<Prompt> => {
    const name = commandOf(command)
    const found = await repo.findOwnPrompt(principal.user.id, name)
      ?? (await repo.listPrompts(await access.deciderFor(principal.user, 'read'))).find((prompt) => prompt.command === name) ?? null
    if (found === null) throw new HttpError(404, 'prompt_not_found', 'Prompt not found.')
    if (kind === 'write' && !await access.may(principal.user, found, 'write')) throw new HttpError(403, 'access_prohibited', 'You may not change this prompt.')
    return found
  }

  const promptById = async (principal: Principal, id: string, kind: 'read' | 'write'): Promise<Prompt> => {
    const found = await repo.findPrompt(id)
    if (found === null || !await access.may(principal.user, found, 'read')) throw new HttpError(404, 'prompt_not_found', 'Prompt not found.')
    if (kind === 'write' && !await access.may(principal.user, found, 'write')) throw new HttpError(403, 'access_prohibited', 'You may not change this prompt.')
    return found
  }

  return new Elysia({ name: 'prompt-routes', prefix: '/api/v1/prompts' })
    .use(requireAuth(auth, trustedProxies))
    .get('/', async ({ principal }) => Promise.all((await repo.listPrompts(await access.deciderFor(principal.user, 'read'))).map((prompt) => describe(prompt, principal))), { auth: 'active' })

    // note: paged as Open WebUI's newer page and Conduit read it; every prompt fits one page here.
    .get('/list', async ({ principal }) => {
      const items = await Promise.all((await repo.listPrompts(await access.deciderFor(principal.user, 'write'))).map((prompt) => describe(prompt, principal, true)))
      return { items, total: items.length }
    }, { auth: 'active' })

    .post('/create', async ({ principal, body }) => {
      if (!await permissions.has(principal, 'workspace.prompts')) throw new HttpError(403, 'permission_denied', 'You do not have permission to do this.')
      const access = toAccessControl(body.access_control)
      // note: as Open WebUI (routers/prompts.py, filter_allowed_access_grants), public needs sharing.public_prompts.
      await refusePublicUnlessPermitted(permissions, principal, PUBLIC_PROMPTS, access)
      const created = await repo.createPrompt(principal.user.id, commandOf(body.command), { title: body.title, content: body.content, access })
      if (!created.ok) throw new HttpError(409, 'command_taken', 'You already have a prompt with this command.')
      return describe(created.prompt, principal)
    }, { auth: 'active', body: PromptBody })

    .get('/command/:command', async ({ principal, params }) => describe(await promptFor(principal, params.command, 'read'), principal), { auth: 'active', params: CommandParams })

    .post('/command/:command/update', async ({ principal, params, body }) => {
      const stored = await promptFor(principal, params.command, 'write')
      if (commandOf(body.command) !== stored.command) throw new HttpError(400, 'command_mismatch', 'A prompt keeps its command; create a new one instead.')
      // note: only the owner (or an admin) changes who may use it.
      const mayShare = stored.ownerId === principal.user.id || principal.user.role === 'admin'
      const accessControl = mayShare && body.access_control !== undefined ? toAccessControl(body.access_control) : stored.access
      if (accessControl !== stored.access) await refusePublicUnlessPermitted(permissions, principal, PUBLIC_PROMPTS, accessControl)
      return describe((await repo.updatePrompt(stored.id, { title: body.title, content: body.content, access: accessControl }))!, principal)
    }, { auth: 'active', params: CommandParams, body: PromptBody })

    .delete('/command/:command/delete', async ({ principal, params }) => repo.deletePrompt((await promptFor(principal, params.command, 'write')).id), { auth: 'active', params: CommandParams })

    // note: Open WebUI's newer page names a prompt by its id; the same decisions apply.
    .get('/id/:id', async ({ principal, params }) => describe(await promptById(principal, params.id, 'read'), principal), { auth: 'active', params: IdParams })
    .post('/id/:id/update', async ({ principal, params, body }) => {
      const stored = await promptById(principal, params.id, 'write')
      if (commandOf(body.command) !== stored.command) throw new HttpError(400, 'command_mismatch', 'A prompt keeps its command; create a new one instead.')
      const mayShare = stored.ownerId === principal.user.id || principal.user.role === 'admin'
      const accessControl = mayShare && body.access_control !== undefined ? toAccessControl(body.access_control) : stored.access
      if (accessControl !== stored.access) await refusePublicUnlessPermitted(permissions, principal, PUBLIC_PROMPTS, accessControl)
      return describe((await repo.updatePrompt(stored.id, { title: body.title, content: body.content, access: accessControl }))!, principal)
    }, { auth: 'active', params: IdParams, body: PromptBody })
    .delete('/id/:id/delete', async ({ principal, params }) => repo.deletePrompt((await promptById(principal, params.id, 'write')).id), { auth: 'active', params: IdParams })
}
