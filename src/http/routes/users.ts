import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import { parseUserId } from '../../db/ids.ts'
import type { User } from '../../db/users.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const Role = t.Union([t.Literal('pending'), t.Literal('user'), t.Literal('admin')])
const Page = t.Object({ page: t.Optional(t.Numeric({ minimum: 1, maximum: 1_000_000 })), limit: t.Optional(t.Numeric({ minimum: 1, maximum: 100 })) })
const UpdateBody = t.Object({ role: t.Optional(Role), name: t.Optional(t.String({ minLength: 1, maxLength: 200 })) })

const describeUser = (user: User) => ({
  id: user.id, email: user.email, name: user.name, role: user.role, profile_image_url: '/user.png',
  created_at: Math.floor(user.createdAt / 1000), updated_at: Math.floor(user.updatedAt / 1000),
})

/** Admin user management under /api/v1/users. */
export const userRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const findTarget = (raw: string): User => {
    const id = parseUserId(raw)
    const user = id === null ? null : deps.store.users.findUserById(id)
    if (user === null) throw new HttpError(404, 'user_not_found', 'User not found.')
    return user
  }
  return new Elysia({ prefix: '/api/v1/users' })
    .use(requireAuth(deps, trustedProxies))
    .get('/', ({ query }) => {
      const limit = query.limit ?? 50
      const page = query.page ?? 1
      return { users: deps.store.users.listUsers({ limit, offset: (page - 1) * limit }).map(describeUser), total: deps.store.users.countUsers() }
    }, { auth: 'admin', query: Page })

    .post('/:id/update', ({ params, body, principal, request, server }) => {
      const target = findTarget(params.id)
      if (body.role !== undefined && body.role !== target.role) {
        if (target.id === principal.user.id) throw new HttpError(403, 'cannot_change_own_role', 'You cannot change your own role.')
        deps.store.users.setUserRole(target.id, body.role)
        deps.audit.record({ event: 'role_changed', actorId: principal.user.id, targetId: target.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { from: target.role, to: body.role } })
      }
      if (body.name !== undefined) deps.store.users.renameUser(target.id, body.name)
      return describeUser(deps.store.users.findUserById(target.id)!)
    }, { auth: 'admin', body: UpdateBody, params: t.Object({ id: t.String({ maxLength: 64 }) }) })

    .delete('/:id', ({ params, principal, request, server }) => {
      const target = findTarget(params.id)
      if (target.id === principal.user.id) throw new HttpError(403, 'cannot_delete_self', 'You cannot delete your own account here.')
      deps.store.users.deleteUser(target.id)
      deps.store.chats.forgetSearchIndexForUser(target.id)
      deps.audit.record({ event: 'user_deleted', actorId: principal.user.id, targetId: target.id, ip: resolveClientAddress(request, server, trustedProxies).ip })
      return true
    }, { auth: 'admin', params: t.Object({ id: t.String({ maxLength: 64 }) }) })
}
