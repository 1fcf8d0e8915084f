/**
 * The admin's runtime settings over the environment: Open WebUI's admin config (sign-up, default
 * role, API keys, session lifetime, ...) and default user permissions, changed from the admin pages
 * without a restart. The environment's values are the defaults until an admin saves; what is saved
 * is stored sealed (setting table) and wins on every later start, as Open WebUI's persistent config.
 * Threat: a stale cache would let a closed sign-up or a revoked API key permission keep working, so
 * every write goes through `save*` here, which replaces the cached effective config at once, and
 * what is stored is read again after at most a second (another instance's save; `fresh()`, which
 * every HTTP request and socket frame awaits before it is authenticated).
 */
import type { AuthConfig } from '../config/load-config.ts'
import { durationOrNever, pathList } from '../config/parsers.ts'
import { keptRead } from '../db/kept-read.ts'
import type { SettingsRepo } from '../db/settings.ts'
import type { Role } from '../db/users.ts'
import { FEATURES_NOT_OFFERED } from './permissions.ts'

/** Open WebUI's AdminConfig, field for field (ENABLE_API_KEY and ENABLE_API_KEYS both spelled). */
export type AdminConfig = {
  SHOW_ADMIN_DETAILS: boolean
  WEBUI_URL: string
  ENABLE_SIGNUP: boolean
  ENABLE_API_KEYS: boolean
  ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: boolean
  API_KEYS_ALLOWED_ENDPOINTS: string
  DEFAULT_USER_ROLE: Role
  JWT_EXPIRES_IN: string
  ENABLE_COMMUNITY_SHARING: boolean
  ENABLE_MESSAGE_RATING: boolean
  ENABLE_CHANNELS: boolean
  ENABLE_NOTES: boolean
  ENABLE_FOLDERS: boolean
  ENABLE_USER_WEBHOOKS: boolean
  PENDING_USER_OVERLAY_TITLE: string | null
  PENDING_USER_OVERLAY_CONTENT: string | null
  RESPONSE_WATERMARK: string | null
}

/** Open WebUI's USER_PERMISSIONS: section -> flag -> allowed. */
export type Permissions = Record<string, Record<string, boolean>>

const ADMIN_CONFIG_SETTING = 'admin_config'
/**
 * Stored with every save of the admin config: its ENABLE_COMMUNITY_SHARING holds. A save made
 * before the setting took effect carries the `false` the page was shown whatever the environment
 * said, which never applied; without this mark the environment's value stays in effect.
 */
const SHARING_APPLIES = 'enclave_sharing_applies'
const PERMISSIONS_SETTING = 'default_user_permissions'

/**
 * What Enclave does not have (channels, notes, user webhooks): always off, whatever was stored
 * before; routes/admin-config.ts refuses turning one on. WEBUI_URL is the environment's.
 */
const FIXED = { ENABLE_CHANNELS: false, ENABLE_NOTES: false, ENABLE_USER_WEBHOOKS: false } as const

/** Open WebUI's defaults for the permissions Enclave has no variable for; off for the features it does not offer (auth/permissions.ts). */
const DEFAULT_PERMISSIONS: Permissions = {
  workspace: { models: false, knowledge: false, prompts: false, tools: false, models_import: false, models_export: false, prompts_import: false, prompts_export: false, tools_import: false, tools_export: false },
  sharing: { public_models: true, public_knowledge: true, public_prompts: true, public_tools: true, public_notes: true },
  chat: {
    controls: true, valves: true, system_prompt: true, params: true, file_upload: true, delete: true, delete_message: true, continue_response: true,
    regenerate_response: true, rate_response: true, edit: true, share: true, export: true, stt: true, tts: true, call: true, multiple_models: true,
    temporary: true, temporary_enforced: false,
  },
  features: { api_keys: false, direct_tool_servers: false, web_search: false, image_generation: false, code_interpreter: false, notes: true, folders: true },
  ui: { interface_settings: true },
}

/** Writes a session lifetime as Open WebUI spells JWT_EXPIRES_IN: `-1`, or a number and one unit. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '-1'
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** Builds the runtime layer over the environment's auth settings. */
/** `now` is the clock the kept settings age by. */
export function createRuntimeAuth(base: AuthConfig, settings: SettingsRepo, now: () => number) {
  // note: USER_PERMISSIONS_FEATURES_API_KEYS is the default of features.api_keys (off when ENABLE_API_KEYS is).
  const usersMayCreateApiKeys = base.apiKeys?.usersMayCreate ?? false
  const defaults = (): AdminConfig => ({
    SHOW_ADMIN_DETAILS: true, WEBUI_URL: base.publicUrl ?? '', ENABLE_SIGNUP: base.enableSignup, ENABLE_API_KEYS: base.apiKeys !== null,
    ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: (base.apiKeys?.allowedEndpoints ?? null) !== null,
    API_KEYS_ALLOWED_ENDPOINTS: (base.apiKeys?.allowedEndpoints ?? []).join(','), DEFAULT_USER_ROLE: base.defaultUserRole,
    JWT_EXPIRES_IN: formatDuration(base.sessionTtlMs), ENABLE_COMMUNITY_SHARING: base.enableCommunitySharing, ENABLE_MESSAGE_RATING: true, ENABLE_CHANNELS: false,
    ENABLE_NOTES: false, ENABLE_FOLDERS: true, ENABLE_USER_WEBHOOKS: false, PENDING_USER_OVERLAY_TITLE: null, PENDING_USER_OVERLAY_CONTENT: null, RESPONSE_WATERMARK: null,
  })
  // note: USER_PERMISSIONS_WORKSPACE_*_ACCESS are the defaults of workspace.models, .knowledge, .tools and .prompts.
  const defaultPermissions = (): Permissions => ({
    ...DEFAULT_PERMISSIONS,
    workspace: { ...DEFAULT_PERMISSIONS.workspace!, ...base.access.workspace },
    features: { ...DEFAULT_PERMISSIONS.features!, api_keys: usersMayCreateApiKeys },
  })

  /** The stored settings over the defaults; either absent (null) until an admin saves it. */
  const adminConfigOf = (stored: Partial<AdminConfig> | null): AdminConfig => {
    const { [SHARING_APPLIES]: applies, ...saved } = (stored ?? {}) as Partial<AdminConfig> & { [SHARING_APPLIES]?: unknown }
    if (applies !== true) delete saved.ENABLE_COMMUNITY_SHARING
    return { ...defaults(), ...saved, ...FIXED, WEBUI_URL: base.publicUrl ?? '' }
  }
  const permissionsOf = (stored: Permissions | null): Permissions => {
    const merged = defaultPermissions()
    for (const [section, flags] of Object.entries(merged)) merged[section] = { ...flags, ...stored?.[section] }
    // note: read false whatever an older save holds, as every decision does (permissions.ts).
    for (const key of FEATURES_NOT_OFFERED) {
      const [section, flag] = key.split('.') as [string, string]
      merged[section] = { ...merged[section], [flag]: false }
    }
    return merged
  }
  const readStored = async () => {
    const [admin, permissions] = await Promise.all([settings.readSetting(ADMIN_CONFIG_SETTING), settings.readSetting(PERMISSIONS_SETTING)])
    return { admin: admin as Partial<AdminConfig> | null, permissions: permissions as Permissions | null }
  }

  const effective = (admin: AdminConfig, permissions: Permissions): AuthConfig => {
    const ttl = durationOrNever(admin.JWT_EXPIRES_IN)
    const endpoints = pathList(admin.API_KEYS_ALLOWED_ENDPOINTS)
    return Object.freeze({
      ...base,
      // note: single-user mode has its one account and no sign-up, whatever is saved.
      enableSignup: admin.ENABLE_SIGNUP && !base.singleUser,
      defaultUserRole: admin.DEFAULT_USER_ROLE,
      enableCommunitySharing: admin.ENABLE_COMMUNITY_SHARING,
      sessionTtlMs: typeof ttl === 'object' && ttl !== null ? base.sessionTtlMs : ttl,
      apiKeys: admin.ENABLE_API_KEYS
        ? { usersMayCreate: permissions.features?.api_keys === true, allowedEndpoints: admin.ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS && Array.isArray(endpoints) ? endpoints : null }
        : null,
    })
  }

  // note: read on every request, so kept in memory: replaced on save here, and read again after at
  // most a second (kept-read.ts), so an admin's change through another instance holds here within that time.
  const stored = keptRead(readStored, now)
  // note: with Redis, another instance's write drops it at once.
  settings.onWrittenElsewhere(() => stored.forget())
  let applied: Awaited<ReturnType<typeof readStored>> | null = null
  let adminNow = adminConfigOf(null)
  let current = effective(adminNow, permissionsOf(null))
  let permissions: Readonly<Permissions> = Object.freeze(permissionsOf(null))
  /** Puts what is stored in effect, unless it is what already is. */
  const apply = (read: Awaited<ReturnType<typeof readStored>>) => {
    if (read === applied) return
    applied = read
    adminNow = adminConfigOf(read.admin)
    current = effective(adminNow, permissionsOf(read.permissions))
    permissions = Object.freeze(permissionsOf(read.permissions))
  }
  /** Reads the stored settings again when what is in effect is older than a second. */
  const fresh = async (): Promise<void> => apply(await stored.get())

  return {
    /** The auth settings in effect now: the environment's, overlaid with what an admin saved (as of `fresh()`, at most a second old). */
    current: (): AuthConfig => current,
    /** The admin config in effect now, as of `fresh()` (at most a second old), as `readAdminConfig` answers it (do not modify). */
    admin: (): Readonly<AdminConfig> => adminNow,
    /** Brings `current()` up to date with what is stored (a read at most once a second); every request awaits it first. */
    fresh,
    /** At once: true while what is in effect was read less than a second ago (the per-request `fresh()` may be skipped). */
    isFresh: (): boolean => {
      const read = stored.peekFresh()
      if (read === undefined) return false
      apply(read)
      return true
    },
    async readAdminConfig(): Promise<AdminConfig> {
      return adminConfigOf((await readStored()).admin)
    },
    /** Stores the admin config (already validated) and puts it in effect at once. */
    async saveAdminConfig(config: AdminConfig): Promise<AdminConfig> {
      await settings.writeSetting(ADMIN_CONFIG_SETTING, { ...config, [SHARING_APPLIES]: true })
      stored.forget()
      await fresh()
      return config
    },
    /** The default permissions of every user (Open WebUI's shape, every flag present). */
    async readPermissions(): Promise<Permissions> {
      return permissionsOf((await readStored()).permissions)
    },
    /** The default permissions in effect now (do not modify). */
    async currentPermissions(): Promise<Readonly<Permissions>> {
      await fresh()
      return permissions
    },
    /** The default permissions in effect as last read, at once (do not modify). */
    permissionsAsKnown: (): Readonly<Permissions> => permissions,
    /** The default permissions at once while what is in effect is fresh (younger than a second); undefined when only a read can tell. */
    permissionsIfFresh: (): Readonly<Permissions> | undefined => {
      const read = stored.peekFresh()
      if (read === undefined) return undefined
      apply(read)
      return permissions
    },
    /** Stores the default permissions and puts them in effect at once. */
    async savePermissions(saved: Permissions): Promise<Permissions> {
      await settings.writeSetting(PERMISSIONS_SETTING, saved)
      stored.forget()
      await fresh()
      return permissionsOf(saved)
    },
  }
}

export type RuntimeAuth = ReturnType<typeof createRuntimeAuth>
