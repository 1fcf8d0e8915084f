/**
 * Settings › Two-step sign-in: setting up an authenticator app (QR code and the secret as text,
 * switched on by a first code), the recovery codes shown once, new ones for a current code,
 * turning it off, and passkeys (passkey-settings.tsx). Also the page a user sees while
 * MFA_REQUIRED holds them to enrolment, and the code field that password and API key changes need.
 * The QR code is drawn as SVG path data from uqr's module matrix: no HTML from strings, no inline
 * style, so it works under the strict CSP.
 */
import { signal } from '@preact/signals'
import { useEffect, useState } from 'preact/hooks'
import { encode } from 'uqr'
import { api, describeError } from './api.ts'
import { CopyButton } from './message-view.tsx'
import { PasskeySettings } from './passkey-settings.tsx'
import { confirmWithPasskey } from './passkeys.ts'
import { user } from './session.ts'

/** What GET /api/v1/auths/mfa answers. */
export type FactorStatus = {
  totp_enabled: boolean; totp_pending: boolean; recovery_codes_left: number; passkeys: number
  required: boolean; enrolment_required: boolean; passkey_login: boolean
}

/** The signed-in user's factors, once loaded (null before). */
export const factorStatus = signal<FactorStatus | null>(null)

export const loadFactorStatus = async () => {
  factorStatus.value = await api<FactorStatus>('GET', '/api/v1/auths/mfa')
}

/** A QR code of `text` as SVG. */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { data, size } = encode(text, { ecc: 'M', border: 2 })
  let path = ''
  data.forEach((row, y) => row.forEach((dark, x) => { if (dark) path += `M${x} ${y}h1v1h-1z` }))
  return (
    <svg class="qr-code" role="img" aria-label={label} viewBox={`0 0 ${size} ${size}`} width="200" height="200" shape-rendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  )
}

/** The recovery codes, shown once, with a copy button. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div class="notice" role="status">
      <p>Your recovery codes. Keep them somewhere safe: each signs you in once if you lose your authenticator app. They will not be shown again.</p>
      <ul class="recovery-codes" aria-label="Recovery codes">{codes.map((code) => <li><code>{code}</code></li>)}</ul>
      <div class="row">
        <CopyButton text={codes.join('\n')} label="Copy codes" ariaLabel="Copy recovery codes" />
        <button type="button" class="link" onClick={onDone}>I have saved them</button>
      </div>
    </div>
  )
}

/** Set-up of an authenticator app: secret, QR code, first code. */
function TotpSetup({ onEnabled }: { onEnabled: (codes: string[]) => void }) {
  const [setup, setSetup] = useState<{ secret: string; otpauth_uri: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  if (setup === null) {
    return (
      <div class="stack">
        {error !== null && <p class="alert" role="alert">{error}</p>}
        <button type="button" onClick={async () => {
          setError(null)
          try {
            setSetup(await api('POST', '/api/v1/auths/mfa/totp/setup'))
          } catch (failure) {
            setError(describeError(failure))
          }
        }}>Set up an authenticator app</button>
      </div>
    )
  }
  return (
    <form class="stack" aria-label="Confirm the authenticator app" onSubmit={async (event) => {
      event.preventDefault()
      const code = String(new FormData(event.currentTarget).get('code') ?? '').trim()
      setBusy(true)
      setError(null)
      try {
        const { recovery_codes } = await api<{ recovery_codes: string[] }>('POST', '/api/v1/auths/mfa/totp/enable', { code })
        onEnabled(recovery_codes)
      } catch (failure) {
        setError(describeError(failure))
      } finally {
        setBusy(false)
      }
    }}>
      <p>Scan this code with your authenticator app, or type the key below into it.</p>
      <QrCode text={setup.otpauth_uri} label="QR code for your authenticator app" />
      <p>Key: <code class="secret" data-testid="totp-secret">{setup.secret}</code></p>
      <label>Code from the app<input name="code" inputMode="numeric" autoComplete="one-time-code" required maxLength={12} /></label>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      <button type="submit" disabled={busy}>Turn on</button>
    </form>
  )
}

/** A form asking for a current code, for regenerating recovery codes or turning TOTP off. */
function CodeAction({ label, danger, onCode }: { label: string; danger?: boolean; onCode: (code: string) => Promise<void> }) {
  const [error, setError] = useState<string | null>(null)
  return (
    <form class="row" aria-label={label} onSubmit={async (event) => {
      event.preventDefault()
      const form = event.currentTarget
      setError(null)
      try {
        await onCode(String(new FormData(form).get('code') ?? '').trim())
        form.reset()
      } catch (failure) {
        setError(describeError(failure))
      }
    }}>
      <label class="grow">Current code<input name="code" autoComplete="one-time-code" required maxLength={64} /></label>
      <button type="submit" class={danger === true ? 'danger' : 'secondary'}>{label}</button>
      {error !== null && <p class="alert" role="alert">{error}</p>}
    </form>
  )
}

export function SecuritySection() {
  const status = factorStatus.value
  const [codes, setCodes] = useState<string[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => void loadFactorStatus().catch((failure) => setError(describeError(failure))), [])
  const enabled = async (recoveryCodes: string[]) => {
    setCodes(recoveryCodes)
    await loadFactorStatus()
  }
  return (
    <section aria-labelledby="security-heading">
      <h2 id="security-heading">Two-step sign-in</h2>
      <p class="muted">After your password, ask for a code from an authenticator app or a passkey. Accounts signing in through single sign-on use their provider's second factor instead.</p>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {codes !== null && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      {status !== null && !status.totp_enabled && <TotpSetup onEnabled={enabled} />}
      {status !== null && status.totp_enabled && (
        <div class="stack">
          <p role="status">Authenticator app: on. Recovery codes left: {status.recovery_codes_left}.</p>
          <CodeAction label="New recovery codes" onCode={async (code) => {
            const made = await api<{ recovery_codes: string[] }>('POST', '/api/v1/auths/mfa/recovery_codes', { code })
            await enabled(made.recovery_codes)
          }} />
          <CodeAction label="Turn off" danger onCode={async (code) => {
            await api('POST', '/api/v1/auths/mfa/totp/disable', { code })
            await loadFactorStatus()
          }} />
        </div>
      )}
      {status !== null && <PasskeySettings onChange={loadFactorStatus} />}
    </section>
  )
}

/** The only page of a user MFA_REQUIRED holds to enrolment, until a factor is set up. */
export function RequiredEnrolment({ onSignOut }: { onSignOut: () => void }) {
  const status = factorStatus.value
  const [codes, setCodes] = useState<string[] | null>(null)
  useEffect(() => void loadFactorStatus().catch(() => undefined), [])
  const proceed = () => {
    if (user.value) user.value = { ...user.value, mfa_enrolment_required: false }
  }
  return (
    <main class="auth-page" id="main">
      <div class="auth-card">
        <h1>Set up two-step sign-in</h1>
        <p>This server asks for a second factor on your account. Set one up to continue.</p>
        {codes !== null ? <RecoveryCodes codes={codes} onDone={proceed} /> : (
          <>
            <TotpSetup onEnabled={(recoveryCodes) => setCodes(recoveryCodes)} />
            {status !== null && <PasskeySettings onChange={async () => {
              await loadFactorStatus()
              if (factorStatus.value?.enrolment_required === false) proceed()
            }} />}
          </>
        )}
        <p class="switch"><button type="button" class="link" onClick={onSignOut}>Sign out</button></p>
      </div>
    </main>
  )
}

/**
 * The second factor of a form that makes a lasting change: a code field when the account has an
 * authenticator app, else a passkey confirmation when it has passkeys, else nothing.
 */
export function FreshCodeField() {
  const [confirmed, setConfirmed] = useState<string | null>(null)
  useEffect(() => {
    if (factorStatus.value === null) void loadFactorStatus().catch(() => undefined)
  }, [])
  const status = factorStatus.value
  if (status?.totp_enabled === true) return <label>Code from your authenticator app<input name="mfa_code" inputMode="numeric" autoComplete="one-time-code" required maxLength={12} /></label>
  if (status === null || status.passkeys === 0) return null
  return (
    <div class="row">
      <button type="button" class="secondary" onClick={async () => {
        try {
          await confirmWithPasskey()
          setConfirmed('Confirmed with your passkey.')
        } catch (failure) {
          setConfirmed(failure instanceof DOMException ? `The browser did not use a passkey (${failure.name}).` : describeError(failure))
        }
      }}>Confirm with a passkey</button>
      {confirmed !== null && <span role="status">{confirmed}</span>}
    </div>
  )
}

/** The `mfa_code` of a submitted form, for the request body ({} when the form has none). */
export function freshCodeOf(form: FormData): { mfa_code?: string } {
  const code = form.get('mfa_code')
  return typeof code === 'string' && code.trim() !== '' ? { mfa_code: code.trim() } : {}
}
