/**
 * The sign-in page: the email/password form (unless ENABLE_LOGIN_FORM=false), an LDAP form when
 * LDAP is on, a link per SSO provider, and sign-up when it is enabled. A failed SSO round trip
 * lands on /auth?error=... and the message is shown here. While the only admin has no password
 * (single-user mode turned off), the page first offers to set it. On a server reachable beyond
 * loopback, that first step needs the setup token: the page asks for it up front and says where it is.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, ApiError, describeError } from './api.ts'
import { config, startSingleUserSession, user } from './session.ts'
import { adoptSession, PasskeySignIn, SecondStep, secondStepChallengeOf, type SecondStepChallenge } from './sign-in-second-step.tsx'
import type { SessionUser } from './types.ts'
import { PasswordRules } from './admin-accounts.tsx'
import { SetupTokenHelp } from './setup-token-help.tsx'

type Mode = 'signin' | 'signup' | 'ldap'

/** A message with a countdown when the server asked us to wait. */
function useRefusal() {
  const [message, setMessage] = useState<string | null>(null)
  const [waitUntil, setWaitUntil] = useState<number | null>(null)
  const [, tick] = useState(0)
  useEffect(() => {
    if (waitUntil === null) return
    const timer = setInterval(() => {
      if (Date.now() >= waitUntil) setWaitUntil(null)
      tick((n) => n + 1)
    }, 1000)
    return () => clearInterval(timer)
  }, [waitUntil])
  const secondsLeft = waitUntil === null ? 0 : Math.max(0, Math.ceil((waitUntil - Date.now()) / 1000))
  return {
    message: secondsLeft > 0 ? `Too many attempts. Please wait ${secondsLeft} seconds before trying again.` : message,
    isWaiting: secondsLeft > 0,
    show(error: unknown) {
      if (error instanceof ApiError && error.status === 429 && error.retryAfterSeconds !== null) setWaitUntil(Date.now() + error.retryAfterSeconds * 1000)
      setMessage(describeError(error))
    },
    clear: () => setMessage(null),
  }
}

export function SignIn() {
  const settings = config.value!
  const features = settings.features
  if (features.auth === false) return <SingleUserEntry name={settings.name} />
  if (settings.account_claim !== undefined) return <ClaimPassword email={settings.account_claim.email} />
  const providers = Object.entries(settings.oauth?.providers ?? {})
  const hasPasswordForm = features.enable_login_form && features.enable_password_auth !== false
  const hasLdap = features.enable_ldap === true
  // note: the first account may always be made, even with sign-up or the login form off (it becomes the admin).
  const isOnboarding = settings.onboarding === true
  const canSignUp = isOnboarding || (features.enable_signup && hasPasswordForm)
  const [mode, setMode] = useState<Mode>(isOnboarding ? 'signup' : hasPasswordForm ? 'signin' : hasLdap ? 'ldap' : 'signin')
  const [busy, setBusy] = useState(false)
  const [needsSetupToken, setNeedsSetupToken] = useState(settings.setup_token_required === true)
  const refusal = useRefusal()
  const [challenge, setChallenge] = useState<SecondStepChallenge | null>(null)
  const ssoError = new URLSearchParams(location.search).get('error')

  const submit = async (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const field = (name: string) => String(form.get(name) ?? '')
    setBusy(true)
    refusal.clear()
    try {
      const session = mode === 'ldap'
        ? await api<SessionUser>('POST', '/api/v1/auths/ldap', { user: field('user'), password: field('password') })
        : mode === 'signup'
          ? await api<SessionUser>('POST', '/api/v1/auths/signup', {
            name: field('name'), email: field('email'), password: field('password'), ...(needsSetupToken ? { setup_token: field('setup_token') } : {}),
          })
          : await api<SessionUser>('POST', '/api/v1/auths/signin', { email: field('email'), password: field('password') })
      if (isOnboarding) config.value = { ...settings, onboarding: false }
      adoptSession(session)
    } catch (error) {
      if (secondStepChallengeOf(error) !== null) return setChallenge(secondStepChallengeOf(error))
      if (error instanceof ApiError && error.code === 'setup_token_required') setNeedsSetupToken(true)
      refusal.show(error)
    } finally {
      setBusy(false)
    }
  }

  if (challenge !== null) return <SecondStep challenge={challenge} onCancel={() => setChallenge(null)} />
  const title = mode === 'signup' ? `Create your ${settings.name} account` : `Sign in to ${settings.name}`
  return (
    <main class="auth-page" id="main">
      <div class="auth-card">
        <h1>{title}</h1>
        {ssoError !== null && <p class="alert" role="alert">Single sign-on failed: {ssoError}</p>}
        {refusal.message !== null && <p class="alert" role="alert">{refusal.message}</p>}
        {isOnboarding && mode === 'signup' && <p class="muted">This server has no accounts yet: the first one becomes its administrator.</p>}
        {mode === 'signup' && needsSetupToken && <SetupTokenHelp />}

        {hasLdap && hasPasswordForm && mode !== 'signup' && (
          <div class="tabs" role="group" aria-label="Sign-in method">
            <button type="button" aria-pressed={mode === 'signin'} onClick={() => setMode('signin')}>Email</button>
            <button type="button" aria-pressed={mode === 'ldap'} onClick={() => setMode('ldap')}>{settings.ldap?.label || 'LDAP'}</button>
          </div>
        )}

        {(mode !== 'signin' || hasPasswordForm) && (mode !== 'ldap' || hasLdap) && (
          <form onSubmit={submit} class="stack" aria-label={mode === 'ldap' ? `${settings.ldap?.label || 'LDAP'} sign-in` : title}>
            {mode === 'signup' && (
              <label>Name<input name="name" autoComplete="name" required maxLength={200} /></label>
            )}
            {mode === 'ldap'
              ? <label>Username<input name="user" autoComplete="username" required maxLength={320} /></label>
              : <label>Email<input name="email" type="email" autoComplete="email" required maxLength={320} /></label>}
            <label>Password<input name="password" type="password" autoComplete={mode === 'signup' ? 'new-password' : 'current-password'} required maxLength={4096}
              {...(mode === 'signup' ? { minLength: settings.password_rules?.min_length ?? 8, 'aria-describedby': 'password-rules' } : {})} /></label>
            {mode === 'signup' && <PasswordRules />}
            {mode === 'signup' && needsSetupToken && (
              <label>Setup token<input name="setup_token" autoComplete="off" required maxLength={200} /></label>
            )}
            <button type="submit" disabled={busy || refusal.isWaiting}>
              {mode === 'signup' ? 'Create account' : mode === 'ldap' ? `Sign in with ${settings.ldap?.label || 'LDAP'}` : 'Sign in'}
            </button>
          </form>
        )}

        {mode !== 'signup' && <PasskeySignIn enabled={features.enable_passkey_login === true} />}
        {providers.length > 0 && mode !== 'signup' && (
          <div class="stack sso">
            {(hasPasswordForm || hasLdap) && <p class="divider"><span>or</span></p>}
            {providers.map(([id, name]) => (
              <a class="button secondary" href={`/oauth/${encodeURIComponent(id)}/login`}>Continue with {name}</a>
            ))}
          </div>
        )}

        {!hasPasswordForm && !hasLdap && providers.length === 0 && (
          <p>No sign-in method is enabled on this server. Ask its administrator.</p>
        )}

        {/* note: on a server with no account there is nobody to sign in as, so onboarding offers sign-up only. */}
        {canSignUp && hasPasswordForm && !isOnboarding && (
          <p class="switch">
            {mode === 'signup'
              ? <>Already have an account? <button type="button" class="link" onClick={() => { refusal.clear(); setMode('signin') }}>Sign in</button></>
              : <>No account yet? <button type="button" class="link" onClick={() => { refusal.clear(); setMode('signup') }}>Create one</button></>}
          </p>
        )}
        {!canSignUp && hasPasswordForm && mode === 'signin' && (
          <p class="muted">Sign-up is turned off on this server; an administrator can create your account.</p>
        )}
      </div>
    </main>
  )
}

/** Single-user mode after a sign-out or a refused start: one button to be this machine's user again. */
function SingleUserEntry({ name }: { name: string }) {
  const [refused, setRefused] = useState(false)
  const enter = async () => {
    const session = await startSingleUserSession()
    if (session === null) setRefused(true)
    else user.value = session
  }
  return (
    <main class="auth-page" id="main">
      <div class="auth-card stack">
        <h1>{name}</h1>
        <p class="muted">This server runs in single-user mode: no sign-in, on this machine only.</p>
        {refused && <p class="alert" role="alert">The server refused: open it at http://localhost on this machine.</p>}
        <button type="button" onClick={() => void enter()}>Continue</button>
      </div>
    </main>
  )
}

/** The first visit after single-user mode was turned off: the admin sets its password and is signed in. */
function ClaimPassword({ email }: { email: string }) {
  const [busy, setBusy] = useState(false)
  const [needsSetupToken, setNeedsSetupToken] = useState(config.value?.setup_token_required === true)
  const [differ, setDiffer] = useState(false)
  const refusal = useRefusal()
  const submit = async (event: Event) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const field = (name: string) => String(form.get(name) ?? '')
    refusal.clear()
    setDiffer(field('password') !== field('confirm'))
    if (field('password') !== field('confirm')) return
    setBusy(true)
    try {
      const session = await api<SessionUser>('POST', '/api/v1/auths/claim', { password: field('password'), ...(needsSetupToken ? { setup_token: field('setup_token') } : {}) })
      config.value = { ...config.value!, account_claim: undefined }
      user.value = { id: session.id, email: session.email, name: session.name, role: session.role, permissions: session.permissions }
    } catch (error) {
      if (error instanceof ApiError && error.code === 'setup_token_required') setNeedsSetupToken(true)
      if (error instanceof ApiError && error.code === 'nothing_to_claim') config.value = { ...config.value!, account_claim: undefined }
      refusal.show(error)
    } finally {
      setBusy(false)
    }
  }
  const title = `Set a password for ${email}`
  return (
    <main class="auth-page" id="main">
      <div class="auth-card">
        <h1>{title}</h1>
        {refusal.message !== null && <p class="alert" role="alert">{refusal.message}</p>}
        {differ && <p class="alert" role="alert">The two passwords differ.</p>}
        <p class="muted">This administrator account has no password yet (single-user mode was turned off). Choose one: you will sign in with it from now on.</p>
        <form onSubmit={submit} class="stack" aria-label={title}>
          <input type="hidden" name="username" autoComplete="username" value={email} />
          <label>New password<input name="password" type="password" autoComplete="new-password" required minLength={8} maxLength={4096} /></label>
          <label>Repeat the new password<input name="confirm" type="password" autoComplete="new-password" required minLength={8} maxLength={4096} /></label>
          <PasswordRules />
          {needsSetupToken && <SetupTokenHelp />}
          {needsSetupToken && (
            <label>Setup token<input name="setup_token" autoComplete="off" required maxLength={200} /></label>
          )}
          <button type="submit" disabled={busy || refusal.isWaiting}>Set password and sign in</button>
        </form>
      </div>
    </main>
  )
}
