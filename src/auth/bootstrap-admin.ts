import { readKeyFile } from '../crypto/key-files.ts'
import type { AuthDeps } from './auth-deps.ts'
import { signUp } from './sign-up.ts'

export type BootstrapResult = 'created' | 'skipped_users_exist' | 'not_configured'

/** Stored once the environment's admin is made: sign-up stays closed on every later start too. */
const SIGNUP_CLOSED_SETTING = 'signup_closed_by_admin_bootstrap'

/**
 * Creates the admin named by WEBUI_ADMIN_EMAIL / WEBUI_ADMIN_PASSWORD(_FILE) when the server has no
 * users yet, as Open WebUI does. Sign-up then stays closed, in this run and the later ones (see
 * isSignupClosedByAdminBootstrap): the admin invites others.
 * Throws with a message naming the variable when the password is unusable.
 */
export async function bootstrapAdmin(deps: AuthDeps): Promise<BootstrapResult> {
  const admin = deps.auth.bootstrapAdmin
  if (admin === null) return 'not_configured'
  if (await deps.store.users.countUsers() > 0) return 'skipped_users_exist'
  const password = 'value' in admin.password ? admin.password.value : readKeyFile(admin.password.file, 'WEBUI_ADMIN_PASSWORD_FILE')
  // note: stored before the admin, so no crash in between can leave the admin with sign-up open;
  // without any account the closure is moot (the first account may always sign up).
  await deps.store.settings.writeSetting(SIGNUP_CLOSED_SETTING, true)
  const result = await signUp(deps, { name: admin.name, email: admin.email, password, role: 'admin' }, true)
  if (!result.ok) {
    const why = result.reason === 'weak_password' ? result.problem.message : result.reason
    throw new Error(`WEBUI_ADMIN_EMAIL / WEBUI_ADMIN_PASSWORD could not create the admin: ${why}`)
  }
  deps.audit.record({ event: 'admin_bootstrapped', targetId: result.user.id })
  return 'created'
}

/** Whether an admin made from the environment closed sign-up, on this start or an earlier one (Open WebUI stores it too). */
export async function isSignupClosedByAdminBootstrap(deps: Pick<AuthDeps, 'store'>): Promise<boolean> {
  return await deps.store.settings.readSetting(SIGNUP_CLOSED_SETTING) === true
}

/** Lifts the closure of sign-up made by the environment's admin: an admin opened sign-up on purpose. */
export async function reopenSignupClosedByAdminBootstrap(deps: Pick<AuthDeps, 'store'>): Promise<void> {
  await deps.store.settings.removeSetting(SIGNUP_CLOSED_SETTING)
}
