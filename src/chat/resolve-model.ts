/**
 * The one point a requested model name becomes what is sent: a base model as it is, or a
 * workspace preset resolved to its base model with its system prompt and options. Threat: a user
 * reaching a preset they were not granted, or a restricted base model through a preset that wraps
 * it (Open WebUI's CVE-2026-44555), so both are decided here, for every path that dispatches or
 * lists (socket turns, completions, the model listing): the preset by its grant, then its base
 * model by the same rule a base model named directly meets. An inactive or unreadable preset is
 * not found, as an unknown model is.
 */
import type { UserId } from '../db/ids.ts'
import type { WorkspaceModel, WorkspaceModelGrant, WorkspaceModelRepo } from '../db/workspace-models.ts'
import { ollamaOptionsOf } from './model-options.ts'
import type { ChatMessage, ModelOptions } from './ollama-client.ts'

/** What is sent for a requested name: the base model, and the preset when the name was one. */
export type ModelTarget = { model: string; preset: WorkspaceModel | null }

export type ModelResolverDeps = {
  workspaceModels: Pick<WorkspaceModelRepo, 'find' | 'findModel'>
  /** Whether the user may read this preset (its grant, through hasAccess). */
  mayReadPreset: (userId: UserId, preset: WorkspaceModelGrant) => boolean
  /** Whether the user may use this base model (every base model until grants on base models exist). */
  mayUseBaseModel: (userId: UserId, model: string) => boolean
}

export type ModelResolver = ReturnType<typeof createModelResolver>

export function createModelResolver(deps: ModelResolverDeps) {
  return {
    /** Resolves `requested` for the user; null when it is a preset they may not use, or its base model is refused. */
    resolve(userId: UserId, requested: string): ModelTarget | null {
      const grant = deps.workspaceModels.find(requested)
      if (grant === null) return deps.mayUseBaseModel(userId, requested) ? { model: requested, preset: null } : null
      if (!grant.isActive || !deps.mayReadPreset(userId, grant) || !deps.mayUseBaseModel(userId, grant.baseModelId)) return null
      const preset = deps.workspaceModels.findModel(requested)
      return preset === null ? null : { model: preset.baseModelId, preset }
    },
  }
}

/** The preset's system prompt, or null when it has none. */
export function presetSystemPrompt(preset: WorkspaceModel | null): string | null {
  const system = preset?.params.system
  return typeof system === 'string' && system.trim() !== '' ? system : null
}

/**
 * Applies the preset to what the chat would send: its options under the chat's own (the chat's
 * win), its system prompt before the chat's (as Open WebUI joins them: preset, newline, chat's).
 */
export function applyPreset(preset: WorkspaceModel | null, messages: readonly ChatMessage[], options: ModelOptions): { messages: ChatMessage[]; options: ModelOptions } {
  if (preset === null) return { messages: [...messages], options }
  const merged = { ...ollamaOptionsOf(preset.params), ...options }
  const system = presetSystemPrompt(preset)
  if (system === null) return { messages: [...messages], options: merged }
  const [first, ...rest] = messages
  if (first?.role === 'system') return { messages: [{ ...first, content: `${system}\n${first.content}` }, ...rest], options: merged }
  return { messages: [{ role: 'system', content: system }, ...messages], options: merged }
}
