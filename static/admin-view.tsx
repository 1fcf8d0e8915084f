/** Administration's user list: change roles, delete users. admin-page.tsx lists the sections. */
import { useEffect, useState } from 'preact/hooks'
import { AdminAccounts } from './admin-accounts.tsx'
import { AdminConnections } from './admin-connections.tsx'
import { AdminModels } from './admin-models.tsx'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { accountsChanged, loadPendingUsers } from './pending-users.ts'
import { user } from './session.ts'
import type { AdminUser, Role } from './types.ts'

const PAGE_SIZE = 50

export function UsersSection() {
  const [page, setPage] = useState(1)
  const [found, setFound] = useState<{ users: AdminUser[]; total: number } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = () => Promise.all([api<{ users: AdminUser[]; total: number }>('GET', `/api/v1/users/?page=${page}&limit=${PAGE_SIZE}`), loadPendingUsers()])
    .then(([users]) => setFound(users), (failure) => setError(describeError(failure)))
  useEffect(() => void load(), [page, accountsChanged.value])
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

/** The Users section: accounts waiting for approval and adding one (admin-accounts.tsx), then every account. */
export function AccountsSection() {
  return (
    <>
      <AdminAccounts />
      <UsersSection />
    </>
  )
}

/** The Ollama section: connections and their state, then the models (pull, details, delete). */
export function OllamaSection() {
  return (
    <>
      <AdminConnections />
      <AdminModels />
    </>
  )
}
