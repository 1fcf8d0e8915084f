/**
 * The admin's day with accounts: approve pending accounts, add an account (name, email, role,
 * first password; Open WebUI's POST /api/v1/auths/add), set a new password for someone (POST
 * /api/v1/users/{id}/update, which ends their sessions), and sign-up and the default role at
 * runtime (POST /api/v1/auths/admin/config, kept in the settings; the environment gives the defaults).
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { accountsChanged, loadPendingUsers, pendingUsers } from './pending-users.ts'
import { config } from './session.ts'
import type { AdminUser, Role } from './types.ts'

type AdminConfig = { ENABLE_SIGNUP: boolean; DEFAULT_USER_ROLE: Role; ENABLE_API_KEYS: boolean }
type Outcome = { ok: boolean; text: string } | null

function Outcome({ outcome }: { outcome: Outcome }) {
  if (outcome === null) return null
  return <p class={outcome.ok ? 'notice' : 'alert'} role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>
}

/** Password rules as the server states them, shown before a password is sent. */
export function PasswordRules() {
  const rules = config.value?.password_rules
  return <p class="muted small" id="password-rules">At least {rules?.min_length ?? 8} characters.{rules?.hint ? ` ${rules.hint}` : ''}</p>
}

function PendingSection({ onChange }: { onChange: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const list = pendingUsers.value
  return (
    <section aria-labelledby="pending-heading" id="pending">
      <h2 id="pending-heading">Waiting for approval {list.length > 0 && <span class="badge">{list.length}</span>}</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {list.length === 0 ? <p class="muted">Nobody is waiting.</p> : (
        <ul class="pending-list">
          {list.map((account) => (
            <li class="row" data-pending={account.email}>
              <span class="grow">{account.name} <span class="muted">{account.email}</span></span>
              <button type="button" class="small" onClick={async () => {
                setError(null)
                try {
                  await api('POST', `/api/v1/users/${account.id}/update`, { role: 'user' })
                  await loadPendingUsers()
                  onChange()
                } catch (failure) {
                  setError(describeError(failure))
                }
              }}>Approve {account.name}</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

function SignUpSection() {
  const [current, setCurrent] = useState<AdminConfig | null>(null)
  const [outcome, setOutcome] = useState<Outcome>(null)
  useEffect(() => {
    api<AdminConfig>('GET', '/api/v1/auths/admin/config').then(setCurrent, (failure) => setOutcome({ ok: false, text: describeError(failure) }))
  }, [])
  const save = async (change: Partial<AdminConfig>) => {
    setOutcome(null)
    try {
      setCurrent(await api<AdminConfig>('POST', '/api/v1/auths/admin/config', change))
      setOutcome({ ok: true, text: 'Saved.' })
    } catch (failure) {
      setOutcome({ ok: false, text: describeError(failure) })
    }
  }
  return (
    <section aria-labelledby="signup-heading">
      <h2 id="signup-heading">Sign-up and API keys</h2>
      {current !== null && (
        <div class="stack">
          <label class="choice"><input type="checkbox" checked={current.ENABLE_SIGNUP} onChange={(event) => void save({ ENABLE_SIGNUP: event.currentTarget.checked })} />
            Anyone who reaches this server may create an account</label>
          <label>Role of new accounts
            <select value={current.DEFAULT_USER_ROLE} onChange={(event) => void save({ DEFAULT_USER_ROLE: event.currentTarget.value as Role })}>
              <option value="pending">Pending: an administrator approves them</option>
              <option value="user">User</option>
              <option value="admin">Admin</option>
            </select>
          </label>
          <label class="choice"><input type="checkbox" checked={current.ENABLE_API_KEYS} onChange={(event) => void save({ ENABLE_API_KEYS: event.currentTarget.checked })} />
            Accounts may create API keys for programs</label>
          <p class="muted small">Kept on the server; ENABLE_SIGNUP, DEFAULT_USER_ROLE and ENABLE_API_KEYS give the values before the first change.</p>
        </div>
      )}
      <Outcome outcome={outcome} />
    </section>
  )
}

function AddUserSection({ onChange }: { onChange: () => void }) {
  const [outcome, setOutcome] = useState<Outcome>(null)
  const [busy, setBusy] = useState(false)
  return (
    <section aria-labelledby="add-user-heading">
      <h2 id="add-user-heading">Add an account</h2>
      <form class="stack" aria-label="Add an account" onSubmit={async (event) => {
        event.preventDefault()
        const form = event.currentTarget
        const data = new FormData(form)
        const field = (name: string) => String(data.get(name) ?? '')
        setOutcome(null)
        setBusy(true)
        try {
          await api('POST', '/api/v1/auths/add', { name: field('name').trim(), email: field('email').trim(), password: field('password'), role: field('role') })
          setOutcome({ ok: true, text: `Added ${field('email').trim()}. Give them the password; they can change it in Settings.` })
          form.reset()
          onChange()
        } catch (failure) {
          setOutcome({ ok: false, text: describeError(failure) })
        } finally {
          setBusy(false)
        }
      }}>
        <label>Name<input name="name" required maxLength={200} autoComplete="off" /></label>
        <label>Email<input name="email" type="email" required maxLength={320} autoComplete="off" /></label>
        <label>Role
          <select name="role"><option value="user">User</option><option value="admin">Admin</option><option value="pending">Pending</option></select>
        </label>
        <label>First password<input name="password" type="password" required minLength={config.value?.password_rules?.min_length ?? 8} maxLength={4096} autoComplete="new-password" aria-describedby="password-rules" /></label>
        <PasswordRules />
        <Outcome outcome={outcome} />
        <button type="submit" disabled={busy}>Add account</button>
      </form>
    </section>
  )
}

function ResetPasswordSection({ version }: { version: number }) {
  const [accounts, setAccounts] = useState<AdminUser[]>([])
  const [outcome, setOutcome] = useState<Outcome>(null)
  useEffect(() => {
    api<{ users: AdminUser[] }>('GET', '/api/v1/users/all').then((found) => setAccounts(found.users), (failure) => setOutcome({ ok: false, text: describeError(failure) }))
  }, [version])
  return (
    <section aria-labelledby="reset-heading">
      <h2 id="reset-heading">Set a new password</h2>
      <p class="muted">For someone who forgot theirs. Their sessions end; tell them the new password.</p>
      <form class="stack" aria-label="Set a new password" onSubmit={async (event) => {
        event.preventDefault()
        const form = event.currentTarget
        const data = new FormData(form)
        const target = accounts.find((account) => account.id === data.get('user'))
        setOutcome(null)
        if (target === undefined) return
        try {
          await api('POST', `/api/v1/users/${target.id}/update`, { password: String(data.get('password') ?? '') })
          setOutcome({ ok: true, text: `${target.email} has a new password; their sessions were signed out.` })
          form.reset()
        } catch (failure) {
          setOutcome({ ok: false, text: describeError(failure) })
        }
      }}>
        <label>Account
          <select name="user" required>{accounts.map((account) => <option value={account.id}>{account.name} ({account.email})</option>)}</select>
        </label>
        <label>New password<input name="password" type="password" required minLength={config.value?.password_rules?.min_length ?? 8} maxLength={4096} autoComplete="new-password" /></label>
        <Outcome outcome={outcome} />
        <button type="submit">Set password</button>
      </form>
    </section>
  )
}

/** The admin page's account tools; a change bumps `accountsChanged`, so the page's user list reloads. */
export function AdminAccounts() {
  const version = accountsChanged.value
  const changed = () => {
    accountsChanged.value++
  }
  useEffect(() => void loadPendingUsers(), [])
  return (
    <>
      <PendingSection onChange={changed} />
      <AddUserSection onChange={changed} />
      <ResetPasswordSection version={version} />
      <SignUpSection />
    </>
  )
}
