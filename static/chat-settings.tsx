/**
 * A chat's system prompt and model parameters: the form (in the chat's settings panel, and for the
 * defaults in Settings) and the one-line summary the chat header shows when any is set. Numbers
 * are Ollama's options within the bounds the server accepts; an empty field leaves it unset, and
 * keys the form does not know (set by another client) are kept.
 */
import { useState } from 'preact/hooks'
import type { ChatSettings } from './types.ts'

type NumberField = { key: string; label: string; min: number; max: number; step: number }

const NUMBER_FIELDS: NumberField[] = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 5, step: 0.05 },
  { key: 'top_p', label: 'Top P', min: 0, max: 1, step: 0.01 },
  { key: 'top_k', label: 'Top K', min: 0, max: 1000, step: 1 },
  { key: 'num_ctx', label: 'Context length (tokens)', min: 1, max: 1_048_576, step: 1 },
  { key: 'num_predict', label: 'Max tokens', min: -2, max: 1_048_576, step: 1 },
  { key: 'seed', label: 'Seed', min: -2_147_483_648, max: 4_294_967_295, step: 1 },
  { key: 'repeat_penalty', label: 'Repeat penalty', min: 0, max: 10, step: 0.05 },
]
const FORM_KEYS = new Set([...NUMBER_FIELDS.map((field) => field.key), 'stop', 'max_tokens'])

/** The short line naming what is set, or null when nothing is. */
export function summariseSettings(settings: ChatSettings): string | null {
  const parts = [
    settings.system !== null && settings.system.trim() !== '' ? 'System prompt' : null,
    ...Object.entries(settings.params).filter(([, value]) => typeof value === 'number').map(([key, value]) => `${key} ${String(value)}`),
    Array.isArray(settings.params.stop) && settings.params.stop.length > 0 ? `${settings.params.stop.length} stop` : null,
  ].filter((part) => part !== null)
  return parts.length === 0 ? null : parts.join(' · ')
}

/** Reads the form into settings; `before`'s params the form does not show are kept. */
function readForm(form: HTMLFormElement, before: ChatSettings): ChatSettings {
  const data = new FormData(form)
  const params: Record<string, unknown> = Object.fromEntries(Object.entries(before.params).filter(([key]) => !FORM_KEYS.has(key)))
  for (const field of NUMBER_FIELDS) {
    const raw = String(data.get(field.key) ?? '').trim()
    if (raw !== '' && Number.isFinite(Number(raw))) params[field.key] = Number(raw)
  }
  const stop = String(data.get('stop') ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '').slice(0, 16)
  if (stop.length > 0) params.stop = stop
  const system = String(data.get('system') ?? '')
  return { system: system.trim() === '' ? null : system, params }
}

/** The settings form; `onSave` gets the settings as entered and may throw a message to show. */
export function ChatSettingsForm({ settings, idPrefix, saveLabel, onSave }: { settings: ChatSettings; idPrefix: string; saveLabel: string; onSave: (settings: ChatSettings) => Promise<void> | void }) {
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const stop = Array.isArray(settings.params.stop) ? settings.params.stop.filter((entry) => typeof entry === 'string').join('\n') : ''
  return (
    <form class="stack chat-settings-form" onSubmit={async (event) => {
      event.preventDefault()
      setBusy(true)
      try {
        await onSave(readForm(event.currentTarget, settings))
        setStatus({ ok: true, text: 'Saved.' })
      } catch (error) {
        setStatus({ ok: false, text: error instanceof Error ? error.message : 'Could not save.' })
      } finally {
        setBusy(false)
      }
    }}>
      <label for={`${idPrefix}-system`}>System prompt</label>
      <textarea id={`${idPrefix}-system`} name="system" rows={4} maxLength={100_000} value={settings.system ?? ''} placeholder="How the model should answer in this chat" />
      <div class="settings-grid">
        {NUMBER_FIELDS.map((field) => (
          <label>{field.label}
            <input name={field.key} type="number" min={field.min} max={field.max} step={field.step}
              value={typeof settings.params[field.key] === 'number' ? String(settings.params[field.key]) : ''} placeholder="Model default" />
          </label>
        ))}
      </div>
      <label for={`${idPrefix}-stop`}>Stop sequences (one per line)</label>
      <textarea id={`${idPrefix}-stop`} name="stop" rows={2} value={stop} />
      {status !== null && <p class={status.ok ? 'notice' : 'alert'} role={status.ok ? 'status' : 'alert'}>{status.text}</p>}
      <button type="submit" disabled={busy}>{saveLabel}</button>
    </form>
  )
}
