/**
 * The admin's Ollama connections: each one's state (off, unreachable, answering but with a broken
 * model list, or working with its model count), test, turn off or on, remove, and add a URL after
 * testing it. The list is saved on the server (sealed in the settings) over OLLAMA_BASE_URL(S).
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { loadModels } from './models.ts'

type ModelsState = { ok: true; count: number } | { ok: false; reason: string; message: string }
/** One connection as GET /api/v1/ollama/status answers it. */
type ConnectionState = { connection: number; url: string; reachable: boolean; version?: string; message?: string; enabled: boolean; models: ModelsState }
type ConnectionList = { urls: string[]; source: 'settings' | 'env'; disabled: string[] }

/** The state in words, and whether it is healthy. */
export function describeConnection(state: ConnectionState): { ok: boolean; text: string } {
  if (!state.enabled) return { ok: false, text: 'turned off' }
  if (!state.reachable) return { ok: false, text: `unreachable: ${state.message ?? 'no answer'}` }
  if (!state.models.ok) return { ok: false, text: `answered (Ollama ${state.version}) but its model list is broken: ${state.models.message}` }
  const count = state.models.count
  return { ok: true, text: `reachable, Ollama ${state.version}, ${count === 0 ? 'no models yet' : `${count} model${count === 1 ? '' : 's'}`}` }
}

export function AdminConnections() {
  const [states, setStates] = useState<ConnectionState[] | null>(null)
  const [list, setList] = useState<ConnectionList | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [tested, setTested] = useState<{ ok: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const check = async () => {
    setError(null)
    setStates(null)
    try {
      const [status, urls] = await Promise.all([
        api<{ connections: ConnectionState[] }>('GET', '/api/v1/ollama/status'),
        api<ConnectionList>('GET', '/api/v1/ollama/connections'),
      ])
      setStates(status.connections)
      setList(urls)
      await loadModels()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  useEffect(() => void check(), [])
  const act = async (action: () => Promise<unknown>) => {
    setError(null)
    setBusy(true)
    try {
      await action()
      await check()
    } catch (failure) {
      setError(describeError(failure))
    } finally {
      setBusy(false)
    }
  }
  const saveUrls = (urls: string[] | null) => act(() => api('POST', '/api/v1/ollama/connections', { urls }))

  return (
    <section aria-labelledby="connections-heading">
      <h2 id="connections-heading">Ollama connections</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {states === null && error === null && <p class="muted" role="status">Checking connections…</p>}
      {states !== null && (
        <ul class="status-list connections">
          {states.map((state) => {
            const shown = describeConnection(state)
            return (
              <li data-ok={shown.ok} data-connection={state.url}>
                <span class="dot" aria-hidden="true" />
                <code>{state.url}</code>
                <span class={shown.ok ? '' : 'alert inline'}>{shown.text}</span>
                <span class="row end connection-actions">
                  <button type="button" class="secondary small" disabled={busy} aria-label={`${state.enabled ? 'Turn off' : 'Turn on'} ${state.url}`}
                    onClick={() => act(() => api('POST', '/api/v1/ollama/connections/enabled', { url: state.url, enabled: !state.enabled }))}>{state.enabled ? 'Turn off' : 'Turn on'}</button>
                  <button type="button" class="danger small" disabled={busy || states.length === 1} aria-label={`Remove ${state.url}`} onClick={async () => {
                    if (await confirmAction(`Remove the connection ${state.url}? Its models stay on that server.`, 'Remove')) await saveUrls(states.map((s) => s.url).filter((url) => url !== state.url))
                  }}>Remove</button>
                </span>
              </li>
            )
          })}
        </ul>
      )}
      <div class="row">
        <button type="button" class="secondary small" disabled={busy} onClick={() => void check()}>Test again</button>
        {list?.source === 'settings' && <button type="button" class="secondary small" disabled={busy} onClick={() => void saveUrls(null)}>Use the environment's list</button>}
      </div>
      <form class="stack add-connection" aria-label="Add a connection" onSubmit={async (event) => {
        event.preventDefault()
        const form = event.currentTarget
        const url = String(new FormData(form).get('url') ?? '').trim()
        const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null
        setTested(null)
        if (submitter?.value === 'test') {
          setBusy(true)
          try {
            const answer = await api<{ version: string }>('POST', '/ollama/verify', { url })
            setTested({ ok: true, text: `${url} answers: Ollama ${answer.version}.` })
          } catch (failure) {
            setTested({ ok: false, text: describeError(failure) })
          } finally {
            setBusy(false)
          }
          return
        }
        await saveUrls([...(states ?? []).map((state) => state.url), url])
        form.reset()
      }}>
        <label>Add a connection (URL)
          <input name="url" type="url" required maxLength={2048} placeholder="http://ollama:11434" autoComplete="off" spellcheck={false} />
        </label>
        <div class="row">
          <button type="submit" value="test" class="secondary" disabled={busy}>Test</button>
          <button type="submit" value="add" disabled={busy}>Add</button>
        </div>
        {tested !== null && <p class={tested.ok ? 'notice' : 'alert'} role={tested.ok ? 'status' : 'alert'}>{tested.text}</p>}
      </form>
    </section>
  )
}
