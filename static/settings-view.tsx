/** Settings: theme, default model, new chats' system prompt and parameters, password, API keys, and signing out here or everywhere. */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { CopyButton } from './message-view.tsx'
import { models } from './models.ts'
import { ChatSettingsForm } from './chat-settings.tsx'
import { DirectConnectionsSection } from './direct-connections-section.tsx'
import { defaultChatSettings, defaultModel, theme, type Theme } from './preferences.ts'
import { config, user } from './session.ts'
import type { ApiKeyInfo } from './types.ts'

function ThemeSection() {
  return (
    <section aria-labelledby="theme-heading">
      <h2 id="theme-heading">Appearance</h2>
      <fieldset class="choices">
        <legend>Theme</legend>
        {(['light', 'dark', 'system'] as Theme[]).map((choice) => (
          <label class="choice">
            <input type="radio" name="theme" value={choice} checked={theme.value === choice} onChange={() => (theme.value = choice)} />
            {choice === 'system' ? 'Same as the system' : choice === 'light' ? 'Light' : 'Dark'}
          </label>
        ))}
      </fieldset>
      <label>Default model
        <select value={defaultModel.value ?? ''} onChange={(event) => (defaultModel.value = event.currentTarget.value === '' ? null : event.currentTarget.value)}>
          <option value="">The first one listed</option>
          {models.value.map((model) => <option value={model.id}>{model.name}</option>)}
        </select>
      </label>
    </section>
  )
}

function ChatDefaultsSection() {
  return (
    <section aria-labelledby="chat-defaults-heading">
      <h2 id="chat-defaults-heading">New chats</h2>
      <p class="muted">The system prompt and parameters each new chat starts with; a chat's own settings can change them after.</p>
      <ChatSettingsForm settings={defaultChatSettings.value} idPrefix="defaults" saveLabel="Save defaults" onSave={(settings) => void (defaultChatSettings.value = settings)} />
    </section>
  )
}

function PasswordSection() {
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  return (
    <section aria-labelledby="password-heading">
      <h2 id="password-heading">Change password</h2>
      <form class="stack" onSubmit={async (event) => {
        event.preventDefault()
        const form = event.currentTarget
        const data = new FormData(form)
        if (data.get('new_password') !== data.get('confirm')) return setMessage({ ok: false, text: 'The new passwords do not match.' })
        setBusy(true)
        try {
          await api('POST', '/api/v1/auths/update/password', { password: data.get('password'), new_password: data.get('new_password') })
          form.reset()
          if (config.value?.account_claim !== undefined) config.value = { ...config.value, account_claim: undefined }
          setMessage({ ok: true, text: 'Password changed. Your other sessions were signed out.' })
        } catch (error) {
          setMessage({ ok: false, text: describeError(error) })
        } finally {
          setBusy(false)
        }
      }}>
        {/* note: single-user mode's account has no password until it sets one, for the day the mode is turned off (also after the switch). */}
        {config.value?.features.auth === false || (config.value?.account_claim !== undefined && config.value.account_claim.email === user.value?.email)
          ? <label>Current password (empty if you have none yet)<input name="password" type="password" autoComplete="current-password" maxLength={4096} /></label>
          : <label>Current password<input name="password" type="password" autoComplete="current-password" required maxLength={4096} /></label>}
        <label>New password<input name="new_password" type="password" autoComplete="new-password" required minLength={8} maxLength={4096} /></label>
        <label>Repeat the new password<input name="confirm" type="password" autoComplete="new-password" required minLength={8} maxLength={4096} /></label>
        {message !== null && <p class={message.ok ? 'notice' : 'alert'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
        <button type="submit" disabled={busy}>Change password</button>
      </form>
    </section>
  )
}

function ApiKeySection() {
  const [keys, setKeys] = useState<ApiKeyInfo[] | null>(null)
  const [created, setCreated] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => api<{ keys: ApiKeyInfo[] }>('GET', '/api/v1/auths/api_key').then((found) => setKeys(found.keys), (failure) => setError(describeError(failure)))
  useEffect(() => void load(), [])
  const date = (seconds: number | null) => (seconds === null ? 'never' : new Date(seconds * 1000).toLocaleString())
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <p class="muted">A key lets a program use the API as you. It is shown once, when it is created.</p>
      <form class="row" onSubmit={async (event) => {
        event.preventDefault()
        const name = String(new FormData(event.currentTarget).get('name') ?? '').trim()
        setError(null)
        try {
          const made = await api<{ api_key: string }>('POST', '/api/v1/auths/api_key', name === '' ? {} : { name })
          setCreated(made.api_key)
          await load()
        } catch (failure) {
          setError(describeError(failure))
        }
      }}>
        <label class="grow">Key name<input name="name" maxLength={100} placeholder="API key" /></label>
        <button type="submit">Create key</button>
      </form>
      {created !== null && (
        <div class="notice" role="status">
          <p>Your new key. Copy it now: it will not be shown again.</p>
          <div class="row"><code class="secret">{created}</code><CopyButton text={created} label="Copy key" ariaLabel="Copy key" /></div>
          <button type="button" class="link" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {keys !== null && keys.length === 0 && <p class="muted">No keys yet.</p>}
      {keys !== null && keys.length > 0 && (
        <table class="table">
          <thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
          <tbody>
            {keys.map((key) => (
              <tr>
                <td>{key.name}</td><td>{date(key.created_at)}</td><td>{date(key.last_used_at)}</td>
                <td><button type="button" class="danger small" aria-label={`Delete key ${key.name}`} onClick={async () => {
                  if (!(await confirmAction(`Delete the key “${key.name}”? Programs using it will stop working.`))) return
                  try {
                    await api('DELETE', `/api/v1/auths/api_key/${key.id}`)
                    await load()
                  } catch (failure) {
                    setError(describeError(failure))
                  }
                }}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

export function SettingsView({ onSignOut }: { onSignOut: (everywhere: boolean) => void }) {
  const mayUseKeys = config.value?.features.enable_api_keys === true && user.value?.permissions?.features?.api_keys === true
  return (
    <section class="page" aria-labelledby="settings-heading">
      <h1 id="settings-heading">Settings</h1>
      <p class="muted">Signed in as {user.value?.name} ({user.value?.email}).</p>
      <ThemeSection />
      <ChatDefaultsSection />
      <PasswordSection />
      {mayUseKeys && <ApiKeySection />}
      {config.value?.features.enable_direct_connections === true && <DirectConnectionsSection />}
      <section aria-labelledby="session-heading">
        <h2 id="session-heading">Sessions</h2>
        <div class="row">
          <button type="button" class="secondary" onClick={() => onSignOut(false)}>Sign out</button>
          <button type="button" class="danger" onClick={async () => {
            if (await confirmAction('Sign out on every device, including this one?', 'Sign out everywhere')) onSignOut(true)
          }}>Sign out everywhere</button>
        </div>
      </section>
    </section>
  )
}
