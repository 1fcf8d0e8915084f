/**
 * Stand-in for Open WebUI's user permissions until the permission table is wired in: grants
 * `workspace.knowledge` (and any key) to every active user and admin, never to a pending user.
 * The real decision takes the same shape, so the integrator swaps this for it in one place.
 */
import type { Principal } from './principal.ts'

/** Answers whether a principal holds a permission key such as `workspace.knowledge`. */
export type Permissions = { has(principal: Principal, key: string): boolean }

export const knowledgePermissionsStub: Permissions = {
  has: (principal) => principal.user.role === 'user' || principal.user.role === 'admin',
}
