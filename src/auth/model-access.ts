/**
 * The one decision on who may use which model, asked on every path that sends a model a request
 * (the socket's chat:send and regenerate, /api/chat/completions and /api/v1, every /ollama route
 * that names a model, tasks, embeddings) and by every listing (/api/models, /ollama/api/tags,
 * /ollama/api/ps, /ollama/v1/models). Open WebUI's advisories are the reason it is one function:
 * its proxy routes skipped the check (CVE-2026-44563) and a workspace model on a restricted base
 * model reached it (CVE-2026-44555).
 *
 * Rules, in order:
 * - an API key limited to models (allowed_models) reaches only those ids;
 * - a workspace model must be active, granted to the user (auth/access-control.ts) and its base model too;
 * - a base model: BYPASS_MODEL_ACCESS_CONTROL passes every active user; admins pass when
 *   BYPASS_ADMIN_ACCESS_CONTROL; otherwise its grant decides (db/model-grants.ts), and a model
 *   without one is for admins only (public while an upgrade is pending; see model-grants.ts).
 * Pending accounts never pass. A refusal looks like an unknown model to the caller.
 *
 * A name sent to Ollama as it is (the /ollama routes, embeddings) and a listing of Ollama's models
 * is decided by `mayUseOllamaModel`: always as a base model, by Ollama's own name for it
 * (`phi3` is `phi3:latest`, case aside). A workspace model's grant covers its own base model only:
 * a preset named like an Ollama model (made before the model was pulled, say) must not open that model.
 */
import type { AccessControl } from './access-control.ts'
import { hasAccess, type Accessor } from './access-control.ts'
import { canonicalModelName } from '../db/model-grants.ts'

/** A workspace model as the access decision needs it (the workspace repository provides it). */
export type WorkspaceModelFinder = {
  find(id: string): Promise<{ baseModelId: string; ownerId: string; access: AccessControl; isActive: boolean } | null>
}

/** Who asks: the user, and the API key's model list when the request came with a limited key. */
export type ModelUser = { user: { id: string; role: 'admin' | 'user' | 'pending' }; allowedModels?: readonly string[] | null }

/** The grants as one decision reads them; the same object while none changes (db/model-grants.ts). */
export type GrantsNow = { readonly grants: ReadonlyMap<string, { access: AccessControl }>; readonly upgrade: { pending: boolean } }

export type ModelAccessDeps = {
  grants: { snapshot(): Promise<GrantsNow> }
  /** The user's group ids: the same array while they do not change (db/groups.ts). */
  groups: { groupIdsOfUser(userId: string): Promise<readonly string[]> }
  /** The switches in effect now. */
  policy: () => { bypassModelAccess: boolean; bypassAdmin: boolean }
  workspaceModels?: WorkspaceModelFinder
}

/** Whether a key's list names the model: as written, or by the same canonical base-model name. */
function isListed(allowed: readonly string[], modelId: string): boolean {
  if (allowed.includes(modelId)) return true
  const canonical = canonicalModelName(modelId)
  return allowed.some((entry) => canonicalModelName(entry) === canonical)
}

/** Base-model decisions remembered at most; the memory is emptied when full. */
const MAX_REMEMBERED = 10_000

type Remembered = { decision: boolean; grants: GrantsNow; groupIds: readonly string[] }

export function createModelAccess(deps: ModelAccessDeps) {
  const accessorOf = async (asker: ModelUser): Promise<Accessor> => ({ id: asker.user.id, role: asker.user.role, groupIds: await deps.groups.groupIdsOfUser(asker.user.id) })
  // note: a base-model decision depends on the user's id, role and groups, the grants and the policy
  // only; it is reused while the grants snapshot and the user's group ids are the same objects (each
  // replaced when it changes, here or, within a second, through another instance; a role is in the key).
  const remembered = new Map<string, Remembered>()

  function mayUseBase(who: Accessor, grants: GrantsNow, modelId: string, policy: ReturnType<ModelAccessDeps['policy']>): boolean {
    const grant = grants.grants.get(canonicalModelName(modelId))
    if (grant === undefined) {
      if (who.role === 'admin' && policy.bypassAdmin) return true
      return grants.upgrade.pending
    }
    return hasAccess(who, { ownerId: null, access: grant.access }, 'read', { bypassAdmin: policy.bypassAdmin })
  }

  /** mayUseBase, remembered per user, role and model while the grants and the user's groups stand. */
  async function mayUseBaseRemembered(asker: ModelUser, modelId: string, policy: ReturnType<ModelAccessDeps['policy']>): Promise<boolean> {
    if (policy.bypassModelAccess) return true
    const [grants, groupIds] = await Promise.all([deps.grants.snapshot(), deps.groups.groupIdsOfUser(asker.user.id)])
    const key = `${asker.user.role}\0${asker.user.id}\0${modelId}`
    const known = remembered.get(key)
    if (known !== undefined && known.grants === grants && known.groupIds === groupIds) return known.decision
    const decision = mayUseBase({ id: asker.user.id, role: asker.user.role, groupIds }, grants, modelId, policy)
    if (remembered.size >= MAX_REMEMBERED) remembered.clear()
    remembered.set(key, { decision, grants, groupIds })
    return decision
  }

  /** Whether the asker may send `modelId` a request (a base model's name or a workspace model's id). */
  async function mayUse(asker: ModelUser, modelId: string): Promise<boolean> {
    if (asker.user.role === 'pending') return false
    if (asker.allowedModels != null && !isListed(asker.allowedModels, modelId)) return false
    const policy = deps.policy()
    const preset = deps.workspaceModels === undefined ? null : await deps.workspaceModels.find(modelId)
    if (preset === null) return mayUseBaseRemembered(asker, modelId, policy)
    if (!preset.isActive) return false
    if (!hasAccess(await accessorOf(asker), { ownerId: preset.ownerId, access: preset.access }, 'read', { bypassAdmin: policy.bypassAdmin })) return false
    return mayUseBaseRemembered(asker, preset.baseModelId, policy)
  }

  /**
   * Whether the asker may send Ollama a request naming `name` as it is: the base model's decision
   * alone, never a workspace model's of the same name (see above).
   */
  async function mayUseOllamaModel(asker: ModelUser, name: string): Promise<boolean> {
    if (asker.user.role === 'pending') return false
    if (asker.allowedModels != null && !isListed(asker.allowedModels, name)) return false
    return mayUseBaseRemembered(asker, name, deps.policy())
  }

  return {
    mayUse,
    mayUseOllamaModel,
    /**
     * Whether an admin's model management (pull, delete, copy, unload) may name the model: only an
     * API key's model list limits it; grants are about using a model, not managing Ollama.
     */
    mayManage: (asker: ModelUser, modelId: string): boolean => asker.allowedModels == null || isListed(asker.allowedModels, modelId),
    /** Whether the id names a workspace model (its grant is the workspace's, not a base model's). */
    isWorkspaceModel: async (modelId: string): Promise<boolean> => deps.workspaceModels !== undefined && await deps.workspaceModels.find(modelId) !== null,
    /** The items of a listing of Ollama's models the asker may use; `idOf` gives each item's Ollama name. */
    async filter<T>(asker: ModelUser, items: readonly T[], idOf: (item: T) => string): Promise<T[]> {
      const allowed = await Promise.all(items.map((item) => mayUseOllamaModel(asker, idOf(item))))
      return items.filter((_, i) => allowed[i])
    },
  }
}

export type ModelAccess = ReturnType<typeof createModelAccess>
