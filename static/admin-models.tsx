/**
 * The admin's model management: pull a model by name with live progress (cancellable), each
 * installed model's size, details (parameter count, quantisation, family, context length,
 * modified) and deletion. `PullForm` is also what the empty chat page offers an administrator.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { currentPull, deleteModel, formatBytes, pullModel } from './model-pull.ts'
import { loadModels, models } from './models.ts'
import type { Model } from './types.ts'

/** What the admin's model list carries beyond a name (Ollama's /api/tags entry). */
type AdminModel = Model & { ollama?: { size?: number; modified_at?: string; details?: { parameter_size?: string; quantization_level?: string; family?: string } } }

type ModelDetails = {
  name: string; size: number | null; modified_at: string | null; family: string | null; parameter_size: string | null
  parameter_count: number | null; quantization_level: string | null; format: string | null; context_length: number | null; capabilities: string[]
}

/** The pull form and the progress of the pull under way (or how the last one ended). */
export function PullForm({ compact = false }: { compact?: boolean }) {
  const pull = currentPull.value
  const isRunning = pull?.phase === 'running' && pull.cancel !== null
  return (
    <div class="pull stack">
      <form class="row" aria-label="Pull a model" onSubmit={(event) => {
        event.preventDefault()
        const name = String(new FormData(event.currentTarget).get('model') ?? '').trim()
        if (name !== '') void pullModel(name)
      }}>
        <label class="grow">{compact ? 'Model to pull' : 'Model name'}
          <input name="model" required maxLength={200} placeholder="llama3.2:1b" autoComplete="off" spellcheck={false} />
        </label>
        <button type="submit" disabled={isRunning}>Pull</button>
      </form>
      <p class="muted small">Names as in the <a href="https://ollama.com/library" target="_blank" rel="noopener noreferrer">Ollama library</a>, e.g. <code>llama3.2:1b</code> or <code>qwen2.5:0.5b</code>.</p>
      {pull !== null && pull.phase === 'running' && (
        <div class="pull-progress" role="status" aria-live="polite">
          <div class="row"><span class="grow">Pulling <code>{pull.name}</code>: {pull.status}{pull.percent === null ? '' : ` ${pull.percent}%`}</span>
            {pull.cancel !== null && <button type="button" class="secondary small" onClick={pull.cancel}>Cancel</button>}</div>
          <progress max={100} value={pull.percent ?? undefined} aria-label={`Progress of ${pull.name}`} />
        </div>
      )}
      {pull?.phase === 'done' && <p class="notice" role="status"><code>{pull.name}</code> is ready.</p>}
      {pull?.phase === 'cancelled' && <p class="notice" role="status">The pull of <code>{pull.name}</code> was cancelled.</p>}
      {pull?.phase === 'failed' && <p class="alert" role="alert">Pulling <code>{pull.name}</code> failed: {pull.message}</p>}
    </div>
  )
}

function DetailsRow({ name }: { name: string }) {
  const [details, setDetails] = useState<ModelDetails | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    api<ModelDetails>('GET', `/api/v1/ollama/models/${encodeURIComponent(name)}/details`).then(setDetails, (failure) => setError(describeError(failure)))
  }, [name])
  if (error !== null) return <p class="alert" role="alert">{error}</p>
  if (details === null) return <p class="muted" role="status">Loading details…</p>
  const rows: [string, string][] = [
    ['Size', formatBytes(details.size)],
    ['Parameters', details.parameter_count === null ? details.parameter_size ?? 'unknown' : `${details.parameter_size ?? ''} (${details.parameter_count.toLocaleString('en')})`.trim()],
    ['Quantisation', details.quantization_level ?? 'unknown'],
    ['Family', details.family ?? 'unknown'],
    ['Context length', details.context_length === null ? 'unknown' : `${details.context_length.toLocaleString('en')} tokens`],
    ['Modified', details.modified_at === null ? 'unknown' : new Date(details.modified_at).toLocaleString()],
  ]
  return <dl class="details" aria-label={`Details of ${name}`}>{rows.map(([term, value]) => <><dt>{term}</dt><dd>{value}</dd></>)}</dl>
}

/** The admin page's Models section. */
export function AdminModels() {
  const [open, setOpen] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => void loadModels(), [])
  const list = models.value as AdminModel[]
  return (
    <section aria-labelledby="models-heading">
      <h2 id="models-heading">Models</h2>
      <PullForm />
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {list.length === 0 ? <p class="muted">No models yet: pull one above.</p> : (
        <div class="table-wrap">
          <table class="table models-table">
            <thead><tr><th scope="col">Model</th><th scope="col">Size</th><th scope="col">Parameters</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
            <tbody>
              {list.map((model) => (
                <>
                  <tr data-model={model.id}>
                    <td><code>{model.id}</code></td>
                    <td>{formatBytes(model.ollama?.size)}</td>
                    <td>{[model.ollama?.details?.parameter_size, model.ollama?.details?.quantization_level].filter(Boolean).join(' · ')}</td>
                    <td><div class="row end">
                      <button type="button" class="secondary small" aria-expanded={open === model.id} aria-label={`Details of ${model.id}`} onClick={() => setOpen(open === model.id ? null : model.id)}>Details</button>
                      <button type="button" class="danger small" aria-label={`Delete ${model.id}`} onClick={async () => {
                        if (!(await confirmAction(`Delete the model ${model.id} from Ollama? Chats keep their text; pulling it again downloads it again.`))) return
                        setError(null)
                        await deleteModel(model.id).catch((failure: unknown) => setError(describeError(failure)))
                      }}>Delete</button>
                    </div></td>
                  </tr>
                  {open === model.id && <tr class="details-row"><td colSpan={4}><DetailsRow name={model.id} /></td></tr>}
                </>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
