/**
 * Whether a user holds a feature permission (`workspace.models`, `workspace.prompts`, ...), in
 * Open WebUI's `section.flag` keys. A stand-in until group permissions exist: administrators hold
 * every permission, other users what the default permissions grant (USER_PERMISSIONS_*, the
 * admin's saved defaults); unknown keys are held by nobody else.
 */
import type { Principal } from './principal.ts'
import type { RuntimeAuth } from './runtime-auth.ts'

export type PermissionCheck = { has(principal: Principal, key: string): boolean }

export function createPermissionsStub(runtime: Pick<RuntimeAuth, 'readPermissions'>): PermissionCheck {
  return {
    has(principal, key) {
      if (principal.user.role === 'admin') return true
      if (principal.user.role !== 'user') return false
      const [section, flag] = key.split('.')
      return section !== undefined && flag !== undefined && runtime.readPermissions()[section]?.[flag] === true
    },
  }
}
