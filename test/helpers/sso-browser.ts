/**
 * A browser without a browser, for single sign-on tests: fetch with a cookie jar (by name; every
 * server here is 127.0.0.1), following redirects by hand and filling the provider's login and
 * consent forms. `signIn` starts at the app's /oauth/{provider}/login and stops when the app
 * answers its final redirect (to / on success, /auth?error=... on failure), or, with
 * `stopAtCallback`, just before the callback is requested, so a test can tamper with it or replay it.
 */
import type { TestOidcProvider } from './oidc-provider.ts'

export type CookieJar = Map<string, string>

/** Fetches with the jar's cookies and keeps those the answer sets; never follows redirects itself. */
export async function fetchWithJar(jar: CookieJar, url: string | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (jar.size > 0) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '))
  const response = await fetch(url, { ...init, headers, redirect: 'manual' })
  for (const cookie of response.headers.getSetCookie()) {
    const [pair = ''] = cookie.split(';')
    const index = pair.indexOf('=')
    const name = pair.slice(0, index).trim()
    const value = pair.slice(index + 1).trim()
    if (value === '' || /max-age=0\b/i.test(cookie) || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name)
    else jar.set(name, value)
  }
  return response
}

function formOf(html: string) {
  const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1]
  const hidden = Object.fromEntries([...html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
  return { action, hidden }
}

export type SignInOutcome = {
  /** Where the app sent the browser at the end: '/' or '/auth?error=...' (or the callback URL with stopAtCallback). */
  location: string
  /** The callback URL the provider sent the browser to, when it got that far. */
  callbackUrl: URL | null
  /** The app's last response (the callback's answer), when it got that far. */
  response: Response | null
}

/**
 * Walks a browser through single sign-on at `appUrl` as `login`. `extraForm` adds fields to the
 * provider's forms (e.g. logout=yes); `password` overrides the harness's generated one.
 */
export async function signIn(
  jar: CookieJar, appUrl: string, op: TestOidcProvider, login: string,
  options: { providerId?: string; stopAtCallback?: boolean; password?: string; start?: string } = {},
): Promise<SignInOutcome> {
  const app = new URL(appUrl).origin
  let url = new URL(options.start ?? `/oauth/${options.providerId ?? 'oidc'}/login`, appUrl)
  let response = await fetchWithJar(jar, url)
  let callbackUrl: URL | null = null
  for (let step = 0; step < 20; step++) {
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get('location')!, url)
      if (next.origin === app && !next.pathname.startsWith('/oauth/')) return { location: next.pathname + next.search, callbackUrl, response }
      if (next.origin === app && next.pathname.includes('callback')) {
        callbackUrl = next
        if (options.stopAtCallback === true) return { location: next.href, callbackUrl, response: null }
      }
      url = next
      response = await fetchWithJar(jar, url)
      continue
    }
    const html = await response.text()
    if (new URL(url).origin === app) return { location: url.pathname + url.search, callbackUrl, response }
    const { action, hidden } = formOf(html)
    if (response.status !== 200 || action === undefined) throw new Error(`unexpected provider page ${response.status} at ${url}: ${html.slice(0, 300)}`)
    const body = new URLSearchParams(hidden)
    if (hidden.prompt === 'login') {
      if (url.searchParams.get('error') === 'invalid_login') throw new Error(`the provider refused the password of ${login}`)
      body.set('login', login)
      body.set('password', options.password ?? op.passwordOf(login))
    }
    url = new URL(action, url)
    response = await fetchWithJar(jar, url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }
  throw new Error('too many steps in the sign-in flow')
}

/** Follows the provider's sign-out (end-session URL), confirming with logout=yes so the whole provider session ends. */
export async function signOutAtProvider(jar: CookieJar, endSessionUrl: string): Promise<URL> {
  let url = new URL(endSessionUrl)
  let response = await fetchWithJar(jar, url)
  const providerOrigin = url.origin
  for (let step = 0; step < 10; step++) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url)
      if (url.origin !== providerOrigin) return url
      response = await fetchWithJar(jar, url)
      continue
    }
    const { action, hidden } = formOf(await response.text())
    if (action === undefined) throw new Error(`unexpected sign-out page ${response.status} at ${url}`)
    url = new URL(action, url)
    response = await fetchWithJar(jar, url, { method: 'POST', body: new URLSearchParams({ ...hidden, logout: 'yes' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  }
  throw new Error('too many steps in the sign-out flow')
}
