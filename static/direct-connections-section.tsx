/**
 * Settings, Direct connections: the user's own OpenAI-compatible endpoints and API keys, saved
 * where Open WebUI's page saves them (the user's settings, `ui.directConnections`, sealed on the
 * server). The server lists their models for this user only and sends the chats; it refuses
 * addresses on private networks unless the admin allowed them. Shown only when the server enables them.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { loadModels } from './models.ts'

type Saved = { OPENAI_API_BASE_URLS: string[]; OPENAI_API_KEYS: string[]; OPENAI_API_CONFIGS: Record<string, { enable?: boolean; prefix_id?: string; model_ids?: string[] }> }
type Row = { url: string; key: string; prefix: string }
type Settings = { ui?: Record<string, unknown> } & Record<string, unknown>

const rowsOf = (saved: Saved | undefined): Row[] => (saved?.OPENAI_API_BASE_URLS ?? []).map((url, index) => ({
  url, key: saved?.OPENAI_API_KEYS[index] ?? '', prefix: saved?.OPENAI_API_CONFIGS[String(index)]?.prefix_id ?? '',
}))
const savedOf = (rows: Row[]): Saved => ({
  OPENAI_API_BASE_URLS: rows.map((row) => row.url.trim()),
  OPENAI_API_KEYS: rows.map((row) => row.key),
  OPENAI_API_CONFIGS: Object.fromEntries(rows.map((row, index) => [String(index), { enable: true, ...(row.prefix.trim() === '' ? {} : { prefix_id: row.prefix.trim() }), model_ids: [] }])),
})

export function DirectConnectionsSection() {
  const [settings, setSettings] = useState<Settings | null>(null)
  const [rows, setRows] = useState<Row[]>([])
  const [status, setStatus] = useState<string | null>(null)
  useEffect(() => void api<Settings | null>('GET', '/api/v1/users/user/settings').then((found) => {
    setSettings(found ?? {})
    setRows(rowsOf(found?.ui?.directConnections as Saved | undefined))
  }, (failure) => setStatus(describeError(failure))), [])
  const set = (index: number, patch: Partial<Row>) => setRows(rows.map((row, at) => (at === index ? { ...row, ...patch } : row)))
  const save = async (event: Event) => {
    event.preventDefault()
    try {
      const next = { ...settings, ui: { ...settings?.ui, directConnections: savedOf(rows.filter((row) => row.url.trim() !== '')) } }
      setSettings(await api<Settings>('POST', '/api/v1/users/user/settings/update', next))
      setStatus('Saved.')
      void loadModels()
    } catch (failure) {
      setStatus(describeError(failure))
    }
  }
  return (
    <section aria-labelledby="direct-heading">
      <h2 id="direct-heading">Direct connections</h2>
      <p class="muted">Your own OpenAI-compatible endpoints. Their models appear in your model picker only; the server sends the requests, to public addresses only unless your administrator allowed others.</p>
      <form class="stack" aria-label="Direct connections" onSubmit={save}>
        {rows.map((row, index) => (
          <fieldset class="choices">
            <legend>Connection {index + 1}</legend>
            <label>URL <input type="url" required maxLength={2048} placeholder="https://api.example.com/v1" value={row.url} onInput={(event) => set(index, { url: event.currentTarget.value })} /></label>
            <label>API key <input type="password" autoComplete="off" maxLength={4096} value={row.key} onInput={(event) => set(index, { key: event.currentTarget.value })} /></label>
            <label>Model name prefix (optional) <input maxLength={64} value={row.prefix} onInput={(event) => set(index, { prefix: event.currentTarget.value })} /></label>
            <button type="button" class="secondary" onClick={() => setRows(rows.filter((_, at) => at !== index))}>Remove</button>
          </fieldset>
        ))}
        <div class="row">
          <button type="button" class="secondary" onClick={() => setRows([...rows, { url: '', key: '', prefix: '' }])}>Add connection</button>
          <button type="submit" disabled={settings === null}>Save connections</button>
        </div>
        {status !== null && <p class="muted small" role="status">{status}</p>}
      </form>
    </section>
  )
}
