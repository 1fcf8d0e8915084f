/**
 * User management under /api/v1/users, in Open WebUI's shapes: the list (search, order, page, when
 * each user was last active), search, one user, their profile image, an admin's update (role, name,
 * email, password: a new password ends every session of that user) and deletion.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { findPasswordProblem, hashPassword } from '../../auth/passwords.ts'
import { isValidEmail } from '../../auth/sign-up.ts'
import type { AddressList } from '../../config/network.ts'
import { parseUserId, type UserId } from '../../db/ids.ts'
import { profileImageBytes, profileImageOf, readUserPreferences, withProfileImage } from '../../db/user-preferences.ts'
import { normaliseEmail, type User } from '../../db/users.ts'
import { WalNotErasedError } from '../../db/wal-erasure.ts'
import { defaultPicture } from '../assets.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { profileImageRefusal } from './user-settings.ts'

/** Open WebUI's page size for the user list and search. */
const PAGE_ITEM_COUNT = 30

const Role = t.Union([t.Literal('pending'), t.Literal('user'), t.Literal('admin')])
const OrderBy = t.Union([t.Literal('name'), t.Literal('email'), t.Literal('role'), t.Literal('created_at'), t.Literal('updated_at'), t.Literal('last_active_at')])
const ListQuery = t.Object({
  query: t.Optional(t.String({ maxLength: 200 })), order_by: t.Optional(OrderBy), direction: t.Optional(t.Union([t.Literal('asc'), t.Literal('desc')])),
  page: t.Optional(Numeric({ minimum: 1, maximum: 1_000_000 })), limit: t.Optional(Numeric({ minimum: 1, maximum: 100 })),
})
const UpdateBody = t.Object({
  role: t.Optional(Role), name: t.Optional(t.String({ minLength: 1, maxLength: 200 })), email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.Nullable(t.String({ maxLength: 4096 }))), profile_image_url: t.Optional(t.String({ maxLength: 1024 * 1024 })),
})
const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

const seconds = (ms: number) => Math.floor(ms / 1000)
const emailTaken = () => new HttpError(400, 'email_taken', 'An account with this email already exists.')

export const userRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const findTarget = async (raw: string): Promise<User> => {
    const id = parseUserId(raw)
    const user = id === null ? null : await deps.store.users.findUserById(id)
    if (user === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return user
  }
  const ipOf = (request: Request, server: Parameters<typeof resolveClientAddress>[1]) => resolveClientAddress(request, server, trustedProxies).ip
  /** One user as Open WebUI's UserModel; `lastSeen` is from their sessions (null: never signed in). */
  const describeUser = async (user: User, lastSeen?: number | null) => ({
    id: user.id, email: user.email, name: user.name, role: user.role,
    profile_image_url: profileImageOf(await readUserPreferences(deps.store.users, user.id)),
    last_active_at: seconds((lastSeen === undefined ? (await deps.store.sessions.lastSeenByUser()).get(user.id) : lastSeen) ?? user.createdAt), created_at: seconds(user.createdAt), updated_at: seconds(user.updatedAt),
  })
  /** Every user matching `query` (name or email, case-insensitive), sorted; names are sealed, so this runs over opened rows. */
  const findUsers = async (query: typeof ListQuery.static) => {
    const lastSeen = await deps.store.sessions.lastSeenByUser()
    const needle = query.query?.trim().toLowerCase() ?? ''
    const all = await Promise.all((await deps.store.users.listUsers({ limit: await deps.store.users.countUsers(), offset: 0 }))
      .filter((user) => needle === '' || user.name.toLowerCase().includes(needle) || user.email.toLowerCase().includes(needle))
      .map((user) => describeUser(user, lastSeen.get(user.id) ?? null)))
    const key = query.order_by ?? 'created_at'
    const sign = (query.direction ?? (query.order_by === undefined ? 'asc' : 'desc')) === 'asc' ? 1 : -1
    return all.sort((a, b) => sign * (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0))
  }
  const pageOf = <T>(items: T[], query: typeof ListQuery.static) => {
    const limit = query.limit ?? PAGE_ITEM_COUNT
    const offset = ((query.page ?? 1) - 1) * limit
    return { users: items.slice(offset, offset + limit), total: items.length }
  }

  return new Elysia({ prefix: '/api/v1/users' })
    .use(requireAuth(deps, trustedProxies))
    // note: Open WebUI's list adds each user's group ids (UserGroupIdsModel).
    .get('/', async ({ query }) => {
      const page = pageOf(await findUsers(query), query)
      const users = await Promise.all(page.users.map(async (user) => ({ ...user, group_ids: [...await deps.store.groups.groupIdsOfUser(user.id)] })))
      return { ...page, users }
    }, { auth: 'admin', query: ListQuery })

    // note: every user at once (Open WebUI's getAllUsers, for pickers in the admin pages).
    .get('/all', async () => {
      const all = await findUsers({})
      return { users: all, total: all.length }
    }, { auth: 'admin' })

    // note: Open WebUI lets every active user search (to share with them); only an admin sees emails and roles.
    .get('/search', async ({ query, principal }) => {
      const found = pageOf(await findUsers(query), query)
      if (principal.user.role === 'admin') return found
      return { users: found.users.map(({ id, name, profile_image_url }) => ({ id, name, profile_image_url })), total: found.total }
    }, { auth: 'active', query: ListQuery })

    .get('/:id', async ({ params, principal }) => {
      const target = await findTarget(params.id)
      const described = await describeUser(target)
      if (principal.user.role === 'admin') return { ...described, active: null }
      return { name: described.name, profile_image_url: described.profile_image_url, active: null }
    }, { auth: 'active', params: IdParams })

    .get('/:id/profile/image', async ({ params }) => {
      const image = profileImageBytes(await readUserPreferences(deps.store.users, (await findTarget(params.id)).id))
      // note: a user who set none gets the default picture, as Open WebUI answers its static user.png here.
      if (image === null) return defaultPicture()
      return new Response(image.bytes, { headers: { 'content-type': image.type, 'cache-control': 'private, max-age=60' } })
    }, { auth: 'active', params: IdParams })

    // note: Open WebUI's older pages change a role here (updateUserRole); newer ones through /{id}/update.
    .post('/update/role', async ({ body, principal, request, server }) => {
      const target = await findTarget(body.id)
      await changeRole(target, body.role, principal.user.id, ipOf(request, server))
      return describeUser((await deps.store.users.findUserById(target.id))!)
    }, { auth: 'admin', body: t.Object({ id: t.String({ maxLength: 64 }), role: Role }) })

    .post('/:id/update', async ({ params, body, principal, request, server }) => {
      const target = await findTarget(params.id)
      const actorId = principal.user.id
      const image = body.profile_image_url === undefined ? null : withProfileImage(await readUserPreferences(deps.store.users, target.id) ?? {}, body.profile_image_url, target.id)
      if (image !== null && !image.ok) throw profileImageRefusal(image.reason)
      const email = body.email?.trim().normalize('NFC')
      const isNewEmail = email !== undefined && normaliseEmail(email) !== normaliseEmail(target.email)
      if (isNewEmail && !isValidEmail(email)) throw new HttpError(400, 'invalid_email', 'That is not a valid email address.')
      if (isNewEmail && await deps.store.users.findUserByEmail(email) !== null) throw emailTaken()
      const password = body.password ?? ''
      if (password !== '') {
        const problem = findPasswordProblem(password, deps.auth.passwordPattern)
        if (problem !== null) throw new HttpError(400, problem.code, problem.message)
      }
      const hash = password === '' ? null : await hashPassword(password)

      // note: the role first: changing one's own is refused before anything else is written.
      if (body.role !== undefined) await changeRole(target, body.role, actorId, ipOf(request, server))
      if (isNewEmail) {
        const changed = await deps.store.users.changeUserEmail(target.id, email)
        if ('reason' in changed) throw emailTaken()
        deps.audit.record({ event: 'user_email_changed', actorId, targetId: target.id, ip: ipOf(request, server) })
      }
      if (body.name !== undefined && body.name.trim() !== '') await deps.store.users.renameUser(target.id, body.name.trim())
      // note: applied again to the preferences as they are now, in one transaction: the user may have saved settings meanwhile.
      if (image?.ok && body.profile_image_url !== undefined) {
        const posted = body.profile_image_url
        await deps.store.users.changeUserPreferences(target.id, (current) => {
          const applied = withProfileImage(current, posted, target.id)
          return applied.ok ? applied.preferences : null
        })
      }
      if (hash !== null) {
        await deps.store.credentials.setPasswordHash(target.id, hash)
        // note: a password set by an admin ends every session of that user, the admin's own included when it is theirs.
        const revoked = await deps.store.sessions.revokeOtherSessions(target.id, null)
        deps.audit.record({ event: 'user_password_set_by_admin', actorId, targetId: target.id, ip: ipOf(request, server), details: { sessions_revoked: revoked } })
      }
      return describeUser((await deps.store.users.findUserById(target.id))!)
    }, { auth: 'admin', body: UpdateBody, params: IdParams })

    .delete('/:id', async ({ params, principal, request, server }) => {
      const target = await findTarget(params.id)
      if (target.id === principal.user.id) throw new HttpError(403, 'cannot_delete_self', 'You cannot delete your own account here.')
      // note: a WalNotErasedError comes after the deletion committed: audited as one, then answered as the error it is.
      const unerased = await deps.store.users.deleteUser(target.id).then(() => null, (error: unknown) => {
        if (error instanceof WalNotErasedError) return error
        throw error
      })
      deps.store.chats.forgetSearchIndexForUser(target.id)
      deps.audit.record({ event: 'user_deleted', actorId: principal.user.id, targetId: target.id, ip: ipOf(request, server), ...(unerased === null ? {} : { details: { wal_erased: false } }) })
      if (unerased !== null) throw unerased
      return true
    }, { auth: 'admin', params: IdParams })

  /** Changes a user's role and audits it; an admin may not change their own. */
  async function changeRole(target: User, role: User['role'], actorId: UserId, ip: string | null) {
    if (role === target.role) return
    if (target.id === actorId) throw new HttpError(403, 'cannot_change_own_role', 'You cannot change your own role.')
    await deps.store.users.setUserRole(target.id, role)
    deps.audit.record({ event: 'role_changed', actorId, targetId: target.id, ip, details: { from: target.role, to: role } })
  }
}
