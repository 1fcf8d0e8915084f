/** The page an account sees until an administrator approves it. */
import { useState } from 'preact/hooks'
import { api } from './api.ts'
import { user } from './session.ts'
import type { SessionUser } from './types.ts'

/** Shown to an account that an administrator has not approved yet. */
export function PendingApproval({ onSignOut }: { onSignOut: () => void }) {
  const [checking, setChecking] = useState(false)
  const check = async () => {
    setChecking(true)
    try {
      const session = await api<SessionUser>('GET', '/api/v1/auths/')
      user.value = session
    } catch {
      user.value = null
    } finally {
      setChecking(false)
    }
  }
  return (
    <main class="auth-page" id="main">
      <div class="auth-card" data-screen="pending">
        <h1>Waiting for approval</h1>
        <p>Your account has been created. An administrator must approve it before you can chat.</p>
        <p class="muted">Come back later, or ask your administrator to approve {user.value?.email}.</p>
        <div class="row">
          <button type="button" onClick={check} disabled={checking}>Check again</button>
          <button type="button" class="secondary" onClick={onSignOut}>Sign out</button>
        </div>
      </div>
    </main>
  )
}
