/** Administration › Second factors: who has an authenticator app or passkeys, and a reset for a user who lost theirs. */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'

type FactorRow = { id: string; name: string; email: string; role: string; totp: boolean; passkeys: number; recovery_codes_left: number; required: boolean }

export function SecondFactorsSection() {
  const [rows, setRows] = useState<FactorRow[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => api<FactorRow[]>('GET', '/api/v1/auths/mfa/users').then(setRows, (failure) => setError(describeError(failure)))
  useEffect(() => void load(), [])
  return (
    <section aria-labelledby="second-factors-heading">
      <h2 id="second-factors-heading">Second factors</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {rows !== null && (
        <table class="table">
          <thead><tr><th scope="col">User</th><th scope="col">Authenticator app</th><th scope="col">Passkeys</th><th scope="col">Recovery codes</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
          <tbody>
            {rows.map((row) => (
              <tr>
                <td>{row.name} <span class="muted">{row.email}</span>{row.required && <span class="muted"> (required)</span>}</td>
                <td>{row.totp ? 'on' : 'off'}</td><td>{row.passkeys}</td><td>{row.totp ? row.recovery_codes_left : '–'}</td>
                <td>{(row.totp || row.passkeys > 0) && (
                  <button type="button" class="danger small" aria-label={`Reset second factors of ${row.email}`} onClick={async () => {
                    if (!(await confirmAction(`Remove every second factor of ${row.email}? They will sign in with their password alone${row.required ? ' and must set up a new one' : ''}.`, 'Reset'))) return
                    try {
                      await api('DELETE', `/api/v1/auths/mfa/users/${row.id}`)
                      await load()
                    } catch (failure) {
                      setError(describeError(failure))
                    }
                  }}>Reset</button>
                )}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
