/**
 * The second step of signing in, for an account with a second factor: after the password, the
 * server answers 401 `second_factor_required` with a challenge (`mfa_token`), and this form
 * redeems it with a code from the authenticator app, a recovery code, or a passkey.
 */
import { useState } from 'preact/hooks'
import { api, ApiError, describeError } from './api.ts'
import { hasPasskeySupport, signInWithPasskey, usePasskeyForChallenge } from './passkeys.ts'
import { user } from './session.ts'
import type { SessionUser } from './types.ts'

export type SecondStepChallenge = { token: string; methods: string[] }

/** The challenge in a refused sign-in, or null when the refusal is something else. */
export function secondStepChallengeOf(error: unknown): SecondStepChallenge | null {
  if (!(error instanceof ApiError) || error.code !== 'second_factor_required') return null
  const body = error.body as { mfa_token?: unknown; methods?: unknown } | null
  if (typeof body?.mfa_token !== 'string') return null
  return { token: body.mfa_token, methods: Array.isArray(body.methods) ? body.methods.filter((method): method is string => typeof method === 'string') : [] }
}

/** Signs the session in on the page from the server's session answer. */
export function adoptSession(session: SessionUser): void {
  user.value = { id: session.id, email: session.email, name: session.name, role: session.role, permissions: session.permissions, mfa_enrolment_required: session.mfa_enrolment_required }
}

export function SecondStep({ challenge, onCancel }: { challenge: SecondStepChallenge; onCancel: () => void }) {
  const [useRecovery, setUseRecovery] = useState(!challenge.methods.includes('totp') && challenge.methods.includes('recovery_code'))
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const hasCodes = challenge.methods.includes('totp') || challenge.methods.includes('recovery_code')

  const finish = async (send: () => Promise<SessionUser>) => {
    setBusy(true)
    setMessage(null)
    try {
      adoptSession(await send())
    } catch (error) {
      setMessage(error instanceof ApiError && error.code === 'mfa_token_invalid' ? 'This sign-in has expired. Sign in again.' : describeError(error))
      if (error instanceof ApiError && error.code === 'mfa_token_invalid') onCancel()
    } finally {
      setBusy(false)
    }
  }
  const signInWithPasskey = usePasskeyForChallenge(challenge.token)

  return (
    <main class="auth-page" id="main">
      <div class="auth-card">
        <h1>Second step</h1>
        {message !== null && <p class="alert" role="alert">{message}</p>}
        {hasCodes && (
          <form class="stack" aria-label="Second step" onSubmit={(event) => {
            event.preventDefault()
            const code = String(new FormData(event.currentTarget).get('code') ?? '').trim()
            void finish(() => api<SessionUser>('POST', '/api/v1/auths/signin/mfa', { mfa_token: challenge.token, code }))
          }}>
            {useRecovery
              ? <label key="recovery">Recovery code<input name="code" autoComplete="off" required maxLength={64} placeholder="xxxx-xxxx-xxxx-xxxx" /></label>
              : <label key="totp">Code from your authenticator app<input name="code" inputMode="numeric" autoComplete="one-time-code" required maxLength={12} /></label>}
            <button type="submit" disabled={busy}>Verify</button>
          </form>
        )}
        {challenge.methods.includes('passkey') && signInWithPasskey !== null && (
          <button type="button" class={hasCodes ? 'secondary' : ''} disabled={busy} onClick={() => void finish(signInWithPasskey)}>Use a passkey</button>
        )}
        <p class="switch">
          {challenge.methods.includes('recovery_code') && challenge.methods.includes('totp') && (
            <button type="button" class="link" onClick={() => setUseRecovery(!useRecovery)}>{useRecovery ? 'Use the authenticator app' : 'Use a recovery code'}</button>
          )}{' '}
          <button type="button" class="link" onClick={onCancel}>Cancel</button>
        </p>
      </div>
    </main>
  )
}

/** Passwordless sign-in with a passkey, when the server allows it (ENABLE_PASSKEY_LOGIN) and the browser can. */
export function PasskeySignIn({ enabled }: { enabled: boolean }) {
  const [message, setMessage] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  if (!enabled || !hasPasskeySupport()) return null
  return (
    <div class="stack">
      {message !== null && <p class="alert" role="alert">{message}</p>}
      <button type="button" class="secondary" disabled={busy} onClick={async () => {
        setBusy(true)
        setMessage(null)
        try {
          adoptSession(await signInWithPasskey(null))
        } catch (error) {
          setMessage(error instanceof DOMException ? `The browser did not use a passkey (${error.name}).` : describeError(error))
        } finally {
          setBusy(false)
        }
      }}>Sign in with a passkey</button>
    </div>
  )
}
