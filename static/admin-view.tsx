/** Administration's sections: approve pending accounts, change roles, delete users; Ollama connections and models. admin-page.tsx lists them. */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { loadModels, models } from './models.ts'
import { user } from './session.ts'
import type { AdminUser, ConnectionStatus, Role } from './types.ts'

const PAGE_SIZE = 50

export function UsersSection() {
  const [page, setPage] = useState(1)
  const [found, setFound] = useState<{ users: AdminUser[]; total: number } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => api<{ users: AdminUser[]; total: number }>('GET', `/api/v1/users/?page=${page}&limit=${PAGE_SIZE}`)
    .then(setFound, (failure) => setError(describeError(failure)))
  useEffect(() => void load(), [page])
  const act = async (action: () => Promise<unknown>) => {
    setError(null)
    try {
      await action()
      await load()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  const setRole = (target: AdminUser, role: Role) => act(() => api('POST', `/api/v1/users/${target.id}/update`, { role }))
  const pages = found === null ? 1 : Math.max(1, Math.ceil(found.total / PAGE_SIZE))
  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {found !== null && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col"><span class="offscreen">Actions</span></th></tr></thead>
            <tbody>
              {found.users.map((account) => {
                const isSelf = account.id === user.value?.id
                return (
                  <tr data-user={account.email}>
                    <td>{account.name}</td>
                    <td>{account.email}</td>
                    <td>
                      <label><span class="offscreen">Role of {account.email}</span>
                        <select value={account.role} disabled={isSelf} onChange={(event) => setRole(account, event.currentTarget.value as Role)}>
                          <option value="pending">Pending</option><option value="user">User</option><option value="admin">Admin</option>
                        </select>
                      </label>
                    </td>
                    <td><div class="row">
                      {account.role === 'pending' && <button type="button" class="small" onClick={() => setRole(account, 'user')}>Approve {account.name}</button>}
                      {!isSelf && <button type="button" class="danger small" aria-label={`Delete ${account.email}`} onClick={async () => {
                        if (await confirmAction(`Delete the account ${account.email} and all its chats?`)) await act(() => api('DELETE', `/api/v1/users/${account.id}`))
                      }}>Delete</button>}
                    </div></td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <div class="row">
          <button type="button" class="secondary small" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
          <span>Page {page} of {pages}</span>
          <button type="button" class="secondary small" disabled={page >= pages} onClick={() => setPage(page + 1)}>Next</button>
        </div>
      )}
    </section>
  )
}

export function OllamaSection() {
  const [connections, setConnections] = useState<ConnectionStatus[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const check = async () => {
    setError(null)
    try {
      setConnections((await api<{ connections: ConnectionStatus[] }>('GET', '/api/v1/ollama/status')).connections)
      await loadModels()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  useEffect(() => void check(), [])
  return (
    <section aria-labelledby="ollama-heading">
      <h2 id="ollama-heading">Ollama</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {connections === null && error === null && <p class="muted" role="status">Checking connections…</p>}
      {connections !== null && (
        <ul class="status-list">
          {connections.map((connection) => (
            <li data-ok={connection.reachable}>
              <span class="dot" aria-hidden="true" />
              <code>{connection.url}</code>{' '}
              {connection.reachable ? <span>reachable, Ollama {connection.version}</span> : <span class="alert inline">unreachable: {connection.message ?? connection.reason}</span>}
            </li>
          ))}
        </ul>
      )}
      <button type="button" class="secondary small" onClick={check}>Check again</button>
      <h3>Models</h3>
      {models.value.length === 0 ? <p class="muted">No models found.</p> : (
        <ul class="model-list">{models.value.map((model) => <li><code>{model.id}</code></li>)}</ul>
      )}
    </section>
  )
}
