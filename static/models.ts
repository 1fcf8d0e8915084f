/** The models every active user may pick, and the one picked now (remembered in this browser). */
import { computed, signal } from '@preact/signals'
import { api, describeError } from './api.ts'
import { defaultModel, lastModel } from './preferences.ts'
import type { Model } from './types.ts'

export const models = signal<Model[]>([])
export const modelsError = signal<string | null>(null)
export const modelsLoaded = signal(false)

/** The last model picked, else the default, else the first listed. */
export const selectedModel = computed<string | null>(() => {
  const names = models.value.map((model) => model.id)
  for (const wanted of [lastModel.value, defaultModel.value]) if (wanted !== null && names.includes(wanted)) return wanted
  return names[0] ?? lastModel.value ?? null
})

export async function loadModels(): Promise<void> {
  try {
    const { data } = await api<{ data: Model[] }>('GET', '/api/models')
    models.value = data
    modelsError.value = null
  } catch (error) {
    modelsError.value = describeError(error)
  } finally {
    modelsLoaded.value = true
  }
}
