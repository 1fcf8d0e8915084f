/**
 * Settings' sections: theme and default model, new chats' system prompt and parameters, password,
 * API keys, and signing out here or everywhere. settings-page.tsx lists them in its registry, with
 * second factors (settings-security.tsx) and sessions (settings-access.tsx).
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { CopyButton } from './message-view.tsx'
import { models } from './models.ts'
import { ChatSettingsForm } from './chat-settings.tsx'
import { defaultChatSettings, defaultModel, theme, type Theme } from './preferences.ts'
import { config, user } from './session.ts'
import { FreshCodeField, freshCodeOf } from './settings-security.tsx'
import type { ApiKeyInfo } from './types.ts'
import { LogOut } from './icons.ts'
import { leave } from './leave.ts'

export function ThemeSection() {
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

export function ChatDefaultsSection() {
  return (
    <section aria-labelledby="chat-defaults-heading">
      <h2 id="chat-defaults-heading">Chat defaults</h2>
      <p class="muted">The system prompt and parameters each new chat starts with; a chat's own settings can change them after.</p>
      <ChatSettingsForm settings={defaultChatSettings.value} idPrefix="defaults" saveLabel="Save defaults" onSave={(settings) => void (defaultChatSettings.value = settings)} />
    </section>
  )
}

export function PasswordSection() {
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
          await api('POST', '/api/v1/auths/update/password', { password: data.get('password'), new_password: data.get('new_password'), ...freshCodeOf(data) })
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
        <FreshCodeField />
        {message !== null && <p class={message.ok ? 'notice' : 'alert'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
        <button type="submit" disabled={busy}>Change password</button>
      </form>
    </section>
  )
}

export function ApiKeySection() {
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
        const data = new FormData(event.currentTarget)
        const name = String(data.get('name') ?? '').trim()
        setError(null)
        try {
          const made = await api<{ api_key: string }>('POST', '/api/v1/auths/api_key', { ...(name === '' ? {} : { name }), ...freshCodeOf(data) })
          setCreated(made.api_key)
          await load()
        } catch (failure) {
          setError(describeError(failure))
        }
      }}>
        <label class="grow">Key name<input name="name" maxLength={100} placeholder="API key" /></label>
        <FreshCodeField />
        <button type="submit">Create key</button>
      </form>
      {created !== null && (
        <div class="notice" role="status">
          <p>Your new key. Copy it now: it will not be shown again.</p>
          <div class="row"><code class="secret">{created}</code><CopyButton text={created} label="Copy key" ariaLabel="Copy key" /></div>
          <button type="button" class="secondary small" onClick={() => setCreated(null)}>Done</button>
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

/** Who is signed in, and signing out here or on every device. */
export function AccountSection() {
  return (
    <section aria-labelledby="session-heading">
      <h2 id="session-heading">Account</h2>
      <p class="muted">Signed in as {user.value?.name} ({user.value?.email}).</p>
      <div class="row">
        <button type="button" class="secondary" onClick={() => void leave(false)}><LogOut size={18} />Sign out</button>
        <button type="button" class="danger" onClick={async () => {
          if (await confirmAction('Sign out on every device, including this one?', 'Sign out everywhere')) void leave(true)
        }}>Sign out everywhere</button>
      </div>
    </section>
  )
}

/** True when this user may make API keys: the server allows them and so does the user's role. */
export const mayUseApiKeys = () => config.value?.features.enable_api_keys === true && user.value?.permissions?.features?.api_keys === true
