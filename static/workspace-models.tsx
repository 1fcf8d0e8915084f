/**
 * Workspace: model presets, each a base model with a system prompt, parameters, description,
 * picture, suggested prompts and tags: list, create, edit, turn on and off, delete, and who may use
 * each. A picture is read in the browser into a data URL (PNG, JPEG, GIF or WebP).
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { loadModels, models } from './models.ts'
import { AccessPicker, describeAccess, mayCreate, type AccessControl } from './workspace-access.tsx'

type Preset = {
  id: string; name: string; base_model_id: string; is_active: boolean; access_control: AccessControl; write_access?: boolean
  params: { system?: string; temperature?: number; num_ctx?: number }
  meta: { description?: string; profile_image_url?: string; suggestion_prompts?: { content: string }[] | null; tags?: { name: string }[] }
}
type Draft = { id: string; name: string; base: string; system: string; temperature: string; numCtx: string; description: string; image: string; suggestions: string; tags: string; access: AccessControl; isActive: boolean; editing: boolean }

const draftOf = (preset: Preset): Draft => ({
  id: preset.id, name: preset.name, base: preset.base_model_id, system: preset.params.system ?? '', temperature: preset.params.temperature?.toString() ?? '', numCtx: preset.params.num_ctx?.toString() ?? '',
  description: preset.meta.description ?? '', image: preset.meta.profile_image_url?.startsWith('data:') ? preset.meta.profile_image_url : '',
  suggestions: (preset.meta.suggestion_prompts ?? []).map((prompt) => prompt.content).join('\n'), tags: (preset.meta.tags ?? []).map((tag) => tag.name).join(', '),
  access: preset.access_control, isActive: preset.is_active, editing: true,
})

const bodyOf = (draft: Draft) => ({
  id: draft.id.trim(), base_model_id: draft.base, name: draft.name.trim(), is_active: draft.isActive, access_control: draft.access,
  params: { ...(draft.system.trim() === '' ? {} : { system: draft.system }), ...(draft.temperature === '' ? {} : { temperature: Number(draft.temperature) }), ...(draft.numCtx === '' ? {} : { num_ctx: Number(draft.numCtx) }) },
  meta: {
    description: draft.description, ...(draft.image === '' ? {} : { profile_image_url: draft.image }),
    suggestion_prompts: draft.suggestions.split('\n').map((line) => line.trim()).filter((line) => line !== '').map((content) => ({ content })),
    tags: draft.tags.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '').map((name) => ({ name })),
  },
})

const readImage = (file: File) => new Promise<string>((resolve, reject) => {
  const reader = new FileReader()
  reader.onload = () => resolve(String(reader.result))
  reader.onerror = () => reject(new Error('unreadable'))
  reader.readAsDataURL(file)
})

export function WorkspaceModels() {
  const [presets, setPresets] = useState<Preset[]>([])
  const [draft, setDraft] = useState<Draft | null>(null)
  const [error, setError] = useState<string | null>(null)
  const presetIds = new Set(presets.map((preset) => preset.id))
  const bases = models.value.filter((model) => !presetIds.has(model.id) && !(model as { preset?: boolean; direct?: boolean }).preset && !(model as { direct?: boolean }).direct)
  const reload = async () => {
    try {
      setPresets((await api<{ items: Preset[] }>('GET', '/api/v1/models/list')).items)
    } catch (failure) {
      setError(describeError(failure))
    }
    void loadModels()
  }
  useEffect(() => void reload(), [])
  const act = async (work: () => Promise<unknown>) => {
    try {
      await work()
      setError(null)
      await reload()
      return true
    } catch (failure) {
      setError(describeError(failure))
      return false
    }
  }
  const save = async (event: Event) => {
    event.preventDefault()
    if (draft === null) return
    const body = bodyOf(draft)
    if (await act(() => api('POST', draft.editing ? `/api/v1/models/model/update?id=${encodeURIComponent(body.id)}` : '/api/v1/models/create', body))) setDraft(null)
  }
  const set = (patch: Partial<Draft>) => draft !== null && setDraft({ ...draft, ...patch })

  return (
    <section class="page workspace-page">
      <h1>Models</h1>
      <p class="muted">A workspace model is a base model with your system prompt and parameters; it appears in the model picker of everyone who may use it.</p>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {!mayCreate('models') && <p class="muted">You may use the workspace models shared with you from the model picker; making your own needs the Models permission, which an administrator gives.</p>}
      {draft === null && mayCreate('models') && (
        <button type="button" onClick={() => setDraft({ id: '', name: '', base: bases[0]?.id ?? '', system: '', temperature: '', numCtx: '', description: '', image: '', suggestions: '', tags: '', access: {}, isActive: true, editing: false })}>New model</button>
      )}
      {draft !== null && (
        <form class="stack" aria-label={draft.editing ? 'Edit model' : 'New model'} onSubmit={save}>
          <label>Name <input required maxLength={200} value={draft.name} onInput={(event) => set({ name: event.currentTarget.value, ...(draft.editing ? {} : { id: event.currentTarget.value.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') }) })} /></label>
          <label>Model id <input required maxLength={256} value={draft.id} disabled={draft.editing} onInput={(event) => set({ id: event.currentTarget.value })} /></label>
          <label>Base model
            <select value={draft.base} onChange={(event) => set({ base: event.currentTarget.value })}>
              {bases.map((model) => <option value={model.id}>{model.name}</option>)}
            </select>
          </label>
          <label>System prompt <textarea rows={5} maxLength={100_000} value={draft.system} onInput={(event) => set({ system: event.currentTarget.value })} /></label>
          <div class="row">
            <label>Temperature <input type="number" min={0} max={5} step={0.05} value={draft.temperature} onInput={(event) => set({ temperature: event.currentTarget.value })} /></label>
            <label>Context length (num_ctx) <input type="number" min={1} max={1048576} step={1} value={draft.numCtx} onInput={(event) => set({ numCtx: event.currentTarget.value })} /></label>
          </div>
          <label>Description <input maxLength={2000} value={draft.description} onInput={(event) => set({ description: event.currentTarget.value })} /></label>
          <label>Picture <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(event) => {
            const file = event.currentTarget.files?.[0]
            if (file !== undefined) void readImage(file).then((image) => set({ image }), () => setError('That picture could not be read.'))
          }} /></label>
          {draft.image !== '' && <img class="preset-image" src={draft.image} alt="" width={48} height={48} />}
          <label>Suggested prompts (one a line) <textarea rows={3} maxLength={20_000} value={draft.suggestions} onInput={(event) => set({ suggestions: event.currentTarget.value })} /></label>
          <label>Tags (comma-separated) <input maxLength={1000} value={draft.tags} onInput={(event) => set({ tags: event.currentTarget.value })} /></label>
          <AccessPicker idPrefix="model" value={draft.access} onChange={(access) => set({ access })} />
          <div class="row"><button type="submit">Save</button> <button type="button" class="secondary" onClick={() => setDraft(null)}>Cancel</button></div>
        </form>
      )}
      <ul class="workspace-list">
        {presets.map((preset) => (
          <li>
            <span><strong>{preset.name}</strong> <span class="muted small">{preset.id} · {preset.base_model_id} · {describeAccess(preset.access_control)}{preset.is_active ? '' : ' · off'}</span></span>
            {preset.write_access === true && (
              <span class="row">
                <label class="choice small"><input type="checkbox" checked={preset.is_active} onChange={() => void act(() => api('POST', `/api/v1/models/model/toggle?id=${encodeURIComponent(preset.id)}`))} /> On</label>
                <button type="button" class="secondary" onClick={() => setDraft(draftOf(preset))}>Edit</button>
                <button type="button" class="secondary" onClick={() => void (async () => {
                  if (await confirmAction(`Delete the model ${preset.name}?`)) await act(() => api('POST', '/api/v1/models/model/delete', { id: preset.id }))
                })()}>Delete</button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {presets.length === 0 && <p class="muted">No workspace models yet.</p>}
    </section>
  )
}
