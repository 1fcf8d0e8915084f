/**
 * `GET /api/v1/auths/` (Open WebUI's "who am I", which its page and clients ask often) answered by
 * Bun's own router before Elysia, as fixed-answers.ts answers /health: the same body (made here for
 * both, `sessionUserAnswers`), the same headers, for a credential `authenticate` admits (a session
 * token, or an API key the principal cache admitted a moment ago); the route in routes/auths.ts
 * answers everything else.
 * Threat: a fast path that skips a check, or serves a revoked or deleted user. Only this exact path
 * (Bun's router brings every GET under /api/v1/auths/ here; the others go on to the app) and GET (HEAD: Bun answers it from the GET handler, without the body) come here; every request a
 * plugin could refuse or change goes to the app: a body, a Host outside ALLOWED_HOSTS, an API key
 * not remembered, and every refusal (401, 403, the API-key audit), so those answers are the app's own. The credential
 * goes through `authenticate`, which uses a remembered admission only while its user's revision
 * (account-changes.ts: every revocation, role change and deletion, on any instance) is the one it
 * was read at, checked on this request. With CORS configured or in single-user mode there is no
 * fast path at all. Settings older than their second are read again first, as fresh-settings.ts
 * does before every app route.
 */
import { looksLikeApiKey } from '../auth/api-key-secret.ts'
import type { AuthDeps } from '../auth/auth-deps.ts'
import { authenticate, findCredential, noteRefusedToken, permissionsOf } from '../auth/authenticate.ts'
import { describeSessionUser, type Principal } from '../auth/principal.ts'
import { profileImageOf, readUserPreferences } from '../db/user-preferences.ts'
import type { User } from '../db/users.ts'
import { fastRouteGate, fastRoutesAllowed, jsonAnswerHeaders, type FixedAnswerRoutes, type FixedAnswerSettings } from './fixed-answers.ts'
import { refreshSettings, type KeepsSettings } from './plugins/fresh-settings.ts'
import { requestPath } from './request-path.ts'
import { enrolmentFlag } from './session-answer.ts'

export const SESSION_USER_PATH = '/api/v1/auths/'

/** Whether the credential came in an Authorization: Bearer header (findCredential prefers it to the cookie). */
const sentAsBearer = (request: Request) => /^Bearer\s/i.test(request.headers.get('authorization') ?? '')

/**
 * Builds Open WebUI's session user object for a principal: the one body of `GET /api/v1/auths/`,
 * fast or not. `object` for the Elysia route; `json` for the fast route, the same text as
 * JSON.stringify of `object`, kept with the admission's user record while its parts are the same.
 */
export function sessionUserAnswers(deps: AuthDeps) {
  // note: keyed by the user object an admission holds (see principal-cache.ts): a new picture moves the
  // user's revision, the next admission reads a new object, and the old entry goes with the old object.
  const profileImages = new WeakMap<User, string>()
  const profileImageFor = async (user: User) => {
    let image = profileImages.get(user)
    if (image === undefined) {
      image = profileImageOf(await readUserPreferences(deps.store.users, user.id))
      profileImages.set(user, image)
    }
    return image
  }
  const partsOf = async (user: User) => {
    const [permissions, image, enrolment] = await Promise.all([permissionsOf(deps, user), profileImageFor(user), enrolmentFlag(deps, user)])
    return { permissions, image, enrolment }
  }
  type Parts = Awaited<ReturnType<typeof partsOf>>
  const rest = (user: User, { permissions, image, enrolment }: Parts) => ({ ...describeSessionUser(user, permissions, image), ...enrolment })
  // note: an API key is never echoed back. A session token is only to a client that sent it as
  // Bearer (Open WebUI clients read it); a browser signed in by the HttpOnly cookie gets null,
  // so script on the page (an injected one included) can't lift the cookie's token from here.
  const tokenOf = (principal: Principal, request: Request) => (principal.via === 'session' && sentAsBearer(request) ? principal.token : null)
  /** The answer after its token, as JSON, by the user record it describes; used while its parts are the same objects. */
  const restJson = new WeakMap<User, { parts: Parts; text: string }>()

  return {
    async object(principal: Principal, request: Request) {
      return { token: tokenOf(principal, request), token_type: 'Bearer', ...rest(principal.user, await partsOf(principal.user)) }
    },
    async json(principal: Principal, request: Request): Promise<string> {
      const { user } = principal
      const parts = await partsOf(user)
      let kept = restJson.get(user)
      if (kept === undefined || kept.parts.permissions !== parts.permissions || kept.parts.image !== parts.image || kept.parts.enrolment !== parts.enrolment) {
        kept = { parts, text: JSON.stringify(rest(user, parts)) }
        restJson.set(user, kept)
      }
      // note: the session user object always has fields, so the text after its `{` follows a comma.
      return `{"token":${JSON.stringify(tokenOf(principal, request))},"token_type":"Bearer",${kept.text.slice(1)}`
    },
  }
}

export type SessionUserAnswers = ReturnType<typeof sessionUserAnswers>

/** The fast route for SESSION_USER_PATH, or none when a plugin would look at every request; `toApp` answers what it leaves. */
export function sessionUserRoutes(
  settings: FixedAnswerSettings,
  deps: { auth: AuthDeps; keepers: readonly KeepsSettings[]; answer: SessionUserAnswers },
  toApp: (request: Request) => Response | Promise<Response>,
): FixedAnswerRoutes {
  if (!fastRoutesAllowed(settings)) return {}
  const { auth, keepers, answer } = deps
  const mayTake = fastRouteGate(settings)
  const headersFor = jsonAnswerHeaders(settings, SESSION_USER_PATH)
  const settingsAreFresh = () => {
    for (const keeper of keepers) if (keeper.isFresh?.() !== true) return false
    return true
  }
  // note: a wildcard, as Elysia hands Bun `/api/v1/auths/` as `/api/v1/auths` (it drops a route's
  // trailing slash), which Bun's router does not match to `/api/v1/auths/`; every other GET under
  // the prefix goes on to the app as before.
  return {
    [`${SESSION_USER_PATH}*`]: {
      async GET(request, server) {
        const path = requestPath(request)
        if (path !== SESSION_USER_PATH || !mayTake(request)) return toApp(request)
        // note: settings older than their second are read again first, as the app's fresh-settings hook does
        // (a start's first request meets them so: the auth settings are not read during a start).
        if (!settingsAreFresh()) await refreshSettings(keepers)
        // note: a remembered credential, or a session token read now (after a restart the principal cache
        // knows nobody, and the app may still be being built, cli/serve.ts): `authenticate` is what the
        // app's route runs for it, and every refusal is still the app's. A new API key is the app's too.
        const credential = findCredential(request.headers)
        if (credential === null || (auth.principals.find(credential) === undefined && looksLikeApiKey(credential))) return toApp(request)
        try {
          const found = authenticate(auth, credential, path)
          const result = found instanceof Promise ? await found : found
          if (!result.ok) {
            // note: the app's refusal is the answer; its check takes this one rather than reading the token's session again.
            noteRefusedToken(auth, request, credential, result)
            return toApp(request)
          }
          const body = await answer.json(result.principal, request)
          return new Response(body, { headers: headersFor(request, server) })
        } catch {
          // note: a read that failed (the database away) is answered by the app, with its error.
          return toApp(request)
        }
      },
    },
  }
}
