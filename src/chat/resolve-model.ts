/**
 * The one point a requested model name becomes what is sent: a base model as it is, a workspace
 * preset resolved to its base model with its system prompt and options, or one of the asking
 * user's own direct connections. Threat: a user reaching a preset they were not granted, or a
 * restricted base model through a preset that wraps it (Open WebUI's CVE-2026-44555). Whether the
 * user may use the name is decided by auth/model-access.ts's `mayUse` alone (the preset's grant
 * and its base model's), for every path that dispatches or lists (socket turns, completions,
 * tasks, the model listing). The one exemption is a user's own direct model: their endpoint, not
 * a base model, so base-model grants do not apply; it is looked up under the asker's id only, so
 * no other user can name it, and a name Ollama or a preset already holds is never one.
 */
import type { ModelUser } from '../auth/model-access.ts'
import type { WorkspaceModel, WorkspaceModelRepo } from '../db/workspace-models.ts'
import { ollamaOptionsOf } from './model-options.ts'
import type { ChatMessage, ModelOptions } from './ollama-client.ts'

/** What is sent for a requested name: the base model, the preset when the name was one, and whether it is the user's own endpoint's. */
export type ModelTarget = { model: string; preset: WorkspaceModel | null; direct: boolean }

export type ModelResolverDeps = {
  workspaceModels: Pick<WorkspaceModelRepo, 'find' | 'findModel'>
  /** The one model access decision (auth/model-access.ts): a preset's grant and its base model's, or a base model's. */
  mayUse: (asker: ModelUser, modelId: string) => Promise<boolean>
  /** Whether `modelId` is one of the user's own direct models and no base model of that name is listed; absent: none. */
  ownsDirectModel?: (userId: string, modelId: string) => boolean
}

export type ModelResolver = ReturnType<typeof createModelResolver>

/** A base model as named, with no preset: what a path without workspace models sends. */
export const baseTarget = (model: string): ModelTarget => ({ model, preset: null, direct: false })

export function createModelResolver(deps: ModelResolverDeps) {
  return {
    /** Resolves `requested` for the asker; null when they may not use it (as an unknown model is). */
    async resolve(asker: ModelUser, requested: string): Promise<ModelTarget | null> {
      if (await deps.workspaceModels.find(requested) !== null) {
        if (!await deps.mayUse(asker, requested)) return null
        const preset = await deps.workspaceModels.findModel(requested)
        return preset === null ? null : { model: preset.baseModelId, preset, direct: false }
      }
      if (deps.ownsDirectModel?.(asker.user.id, requested) === true) {
        // note: an API key limited to models reaches its owner's endpoints only when its list names them.
        if (asker.user.role === 'pending' || (asker.allowedModels != null && !asker.allowedModels.includes(requested))) return null
        return { model: requested, preset: null, direct: true }
      }
      return await deps.mayUse(asker, requested) ? baseTarget(requested) : null
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
// note: generic over the messages, which it passes on as they are but for the first (a turn's path goes as held messages, turn-place.ts).
// note: the messages themselves when nothing is put in (no copy: a turn's 2,000 path messages were spread element by element through the iterator).
export function applyPreset<M extends { role: string; content: string }>(preset: WorkspaceModel | null, messages: readonly M[], options: ModelOptions): { messages: readonly (M | ChatMessage)[]; options: ModelOptions } {
  if (preset === null) return { messages, options }
  const merged = { ...ollamaOptionsOf(preset.params), ...options }
  const system = presetSystemPrompt(preset)
  if (system === null) return { messages, options: merged }
  const [first, ...rest] = messages
  if (first?.role === 'system') return { messages: [{ ...first, content: `${system}\n${first.content}` }, ...rest], options: merged }
  return { messages: [{ role: 'system', content: system }, ...messages], options: merged }
}
