/** Settings › Passkeys: add one (named), list them, remove one. */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { hasPasskeySupport, registerPasskey } from './passkeys.ts'
import { FreshCodeField } from './settings-security.tsx'

type PasskeyInfo = { id: string; name: string; created_at: number; last_used_at: number | null }

/** Says what went wrong, including the browser's own refusals (cancelled, not allowed). */
const describePasskeyError = (error: unknown) => (error instanceof DOMException ? `The browser did not make or use the passkey (${error.name}).` : error instanceof Error && !('code' in error) ? error.message : describeError(error))

export function PasskeySettings({ onChange }: { onChange: () => Promise<void> }) {
  const [passkeys, setPasskeys] = useState<PasskeyInfo[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => api<PasskeyInfo[]>('GET', '/api/v1/auths/passkeys').then(setPasskeys, (failure) => setError(describeError(failure)))
  useEffect(() => void load(), [])
  if (!hasPasskeySupport()) return <p class="muted">This browser cannot use passkeys here (they need HTTPS, or localhost).</p>
  const date = (seconds: number | null) => (seconds === null ? 'never' : new Date(seconds * 1000).toLocaleString())
  return (
    <div class="stack">
      <h3>Passkeys</h3>
      <form class="row" aria-label="Add a passkey" onSubmit={async (event) => {
        event.preventDefault()
        const form = event.currentTarget
        const data = new FormData(form)
        const code = String(data.get('mfa_code') ?? '').trim()
        setError(null)
        try {
          await registerPasskey(String(data.get('name') ?? '').trim() || 'Passkey', code === '' ? null : code)
          form.reset()
          await load()
          await onChange()
        } catch (failure) {
          setError(describePasskeyError(failure))
        }
      }}>
        <label class="grow">Name of the new passkey<input name="name" maxLength={100} placeholder="Passkey" /></label>
        <FreshCodeField />
        <button type="submit" class="secondary">Add a passkey</button>
      </form>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {passkeys !== null && passkeys.length > 0 && (
        <table class="table" aria-label="Passkeys">
          <thead><tr><th scope="col">Name</th><th scope="col">Added</th><th scope="col">Last used</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
          <tbody>
            {passkeys.map((passkey) => (
              <tr>
                <td>{passkey.name}</td><td>{date(passkey.created_at)}</td><td>{date(passkey.last_used_at)}</td>
                <td><button type="button" class="danger small" aria-label={`Remove passkey ${passkey.name}`} onClick={async () => {
                  if (!(await confirmAction(`Remove the passkey “${passkey.name}”?`, 'Remove'))) return
                  try {
                    await api('DELETE', `/api/v1/auths/passkeys/${passkey.id}`)
                    await load()
                    await onChange()
                  } catch (failure) {
                    setError(describeError(failure))
                  }
                }}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
