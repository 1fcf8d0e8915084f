/** Workspace: the user's saved prompts (the composer's `/` commands): list, create, edit, delete, and who may use each. */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { AccessPicker, describeAccess, mayCreate, type AccessControl } from './workspace-access.tsx'

type Prompt = { id: string; command: string; title: string; content: string; access_control: AccessControl; write_access?: boolean }
type Draft = { command: string; title: string; content: string; access_control: AccessControl; editing: boolean }
const emptyDraft: Draft = { command: '', title: '', content: '', access_control: {}, editing: false }

export function WorkspacePrompts() {
  const [prompts, setPrompts] = useState<Prompt[]>([])
  const [draft, setDraft] = useState<Draft | null>(null)
  const [error, setError] = useState<string | null>(null)
  const reload = () => api<Prompt[]>('GET', '/api/v1/prompts/').then(setPrompts, (failure) => setError(describeError(failure)))
  useEffect(() => void reload(), [])

  const save = async (event: Event) => {
    event.preventDefault()
    if (draft === null) return
    const body = { command: `/${draft.command.replace(/^\//, '')}`, title: draft.title, content: draft.content, access_control: draft.access_control }
    try {
      await api('POST', draft.editing ? `/api/v1/prompts/command/${encodeURIComponent(body.command.slice(1))}/update` : '/api/v1/prompts/create', body)
      setDraft(null)
      setError(null)
      await reload()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  const remove = async (prompt: Prompt) => {
    if (!(await confirmAction(`Delete the prompt ${prompt.command}?`))) return
    await api('DELETE', `/api/v1/prompts/command/${encodeURIComponent(prompt.command.slice(1))}/delete`).catch((failure) => setError(describeError(failure)))
    await reload()
  }

  return (
    <section class="page workspace-page">
      <h1>Prompts</h1>
      <p class="muted">Type / in a message to insert one. {'{{CURRENT_DATE}}'}, {'{{CURRENT_TIME}}'}, {'{{USER_NAME}}'} and Open WebUI's other variables are filled in.</p>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {!mayCreate('prompts') && <p class="muted">You may use the prompts shared with you by typing /; making your own needs the Prompts permission, which an administrator gives.</p>}
      {draft === null && mayCreate('prompts') && <button type="button" onClick={() => setDraft(emptyDraft)}>New prompt</button>}
      {draft !== null && (
        <form class="stack" aria-label={draft.editing ? 'Edit prompt' : 'New prompt'} onSubmit={save}>
          <label>Command <input required maxLength={65} value={draft.command} disabled={draft.editing} onInput={(event) => setDraft({ ...draft, command: event.currentTarget.value })} /></label>
          <label>Title <input required maxLength={200} value={draft.title} onInput={(event) => setDraft({ ...draft, title: event.currentTarget.value })} /></label>
          <label>Content <textarea required rows={6} maxLength={100_000} value={draft.content} onInput={(event) => setDraft({ ...draft, content: event.currentTarget.value })} /></label>
          <AccessPicker idPrefix="prompt" value={draft.access_control} onChange={(access_control) => setDraft({ ...draft, access_control })} />
          <div class="row"><button type="submit">Save</button> <button type="button" class="secondary" onClick={() => setDraft(null)}>Cancel</button></div>
        </form>
      )}
      <ul class="workspace-list">
        {prompts.map((prompt) => (
          <li>
            <span><strong class="prompt-command">{prompt.command}</strong> {prompt.title} <span class="muted small">{describeAccess(prompt.access_control)}</span></span>
            {prompt.write_access === true && (
              <span class="row">
                <button type="button" class="secondary" onClick={() => setDraft({ command: prompt.command.slice(1), title: prompt.title, content: prompt.content, access_control: prompt.access_control, editing: true })}>Edit</button>
                <button type="button" class="secondary" onClick={() => void remove(prompt)}>Delete</button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {prompts.length === 0 && <p class="muted">No prompts yet.</p>}
    </section>
  )
}
