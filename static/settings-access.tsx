/**
 * Settings' view of how this account is reached: where it is signed in (device from the user
 * agent, IP, last seen) with a sign-out per session (GET and DELETE /api/v1/auths/sessions, own
 * sessions only), and, when API keys are off, why and how an administrator turns them on.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { describeDevice } from './device-name.ts'
import { config } from './session.ts'

type SessionInfo = { id: string; created_at: number; last_seen_at: number; expires_at: number | null; user_agent: string | null; ip: string | null; current: boolean }

export function SessionsList() {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => api<SessionInfo[]>('GET', '/api/v1/auths/sessions').then(setSessions, (failure) => setError(describeError(failure)))
  useEffect(() => void load(), [])
  return (
    <section aria-labelledby="devices-heading">
      <h2 id="devices-heading">Where you are signed in</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {sessions !== null && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th scope="col">Device</th><th scope="col">IP</th><th scope="col">Last seen</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
            <tbody>
              {sessions.map((session) => (
                <tr data-session={session.id}>
                  <td title={session.user_agent ?? ''}>{describeDevice(session.user_agent)}{session.current && <span class="badge quiet">this one</span>}</td>
                  <td>{session.ip ?? 'unknown'}</td>
                  <td>{new Date(session.last_seen_at * 1000).toLocaleString()}</td>
                  <td>{!session.current && <button type="button" class="secondary small" aria-label={`Sign out ${describeDevice(session.user_agent)} (${session.ip ?? 'unknown IP'})`} onClick={async () => {
                    if (!(await confirmAction(`Sign out ${describeDevice(session.user_agent)}?`, 'Sign out'))) return
                    setError(null)
                    try {
                      await api('DELETE', `/api/v1/auths/sessions/${encodeURIComponent(session.id)}`)
                      await load()
                    } catch (failure) {
                      setError(describeError(failure))
                    }
                  }}>Sign out</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

/** Shown instead of the API key list when this account may not create keys. */
export function ApiKeysOff() {
  const isServerOff = config.value?.features.enable_api_keys !== true
  return (
    <section aria-labelledby="keys-off-heading">
      <h2 id="keys-off-heading">API keys</h2>
      {isServerOff
        ? <p class="muted">API keys are turned off on this server. An administrator turns them on in Admin (or starts the server with <code>ENABLE_API_KEYS=true</code>); programs can then use the API as you with a key made here.</p>
        : <p class="muted">API keys are on, but not for your account: an administrator can allow them (the <code>api_keys</code> permission).</p>}
    </section>
  )
}
