/**
 * The only bridge from authentication to Elysia: routes opt in with `{ auth: 'any' }` (pending
 * accounts too), `'active'` (user or admin), `'admin'`, or `'session'` (active and signed in with a
 * session, not an API key: managing API keys and changing passwords). The macro resolves a typed
 * `principal` or throws an HttpError: 401 without a valid credential, 403 when the account may not.
 * The check runs before the body is parsed and validated, so an anonymous caller gets 401, never a
 * 422 naming a protected route's fields (nor is a body of declared length parsed for it; a chunked
 * one has been read by body-limit, within the anonymous limit); resolve hands on the principal.
 * note: a route's own `transform` would run before the macro's; one that must see the body before
 * validation is declared as a macro listed after `auth` instead (see chatObject in routes/chats.ts).
 */
import { Elysia } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import { authenticateRequest, type AuthResult } from '../../auth/authenticate.ts'
import type { Principal } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { authRefusal } from '../auth-refusal.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requestPath } from '../request-path.ts'

export type AuthLevel = 'any' | 'active' | 'admin' | 'session'

export const requireAuth = (deps: AuthDeps, trustedProxies: AddressList) => {
  const checked = new WeakMap<Request, Principal>()
  return new Elysia({ name: 'require-auth' }).macro({
    auth: (level: AuthLevel) => ({
      // note: parse runs before the body is read (routes with a body), transform before validation
      // (every route); the first of them to run does the check. The hooks name only `request` and
      // `server`: Elysia fills the context fields it finds in a hook's source text, and a hook taking
      // the whole context had it parse the cookies, query and headers of every request. The path is
      // read from the request (a compiled build's text of a method once hid `path` from Elysia).
      // The hooks are async (Elysia awaits them, whatever their text): `check` answers at once for a
      // remembered credential and with a promise only when the database must be asked.
      parse: async ({ request, server }: RequestContext) => {
        const found = check(level, request, server)
        checked.set(request, found instanceof Promise ? await found : found)
      },
      transform: async ({ request, server }: RequestContext) => {
        if (checked.has(request)) return
        const found = check(level, request, server)
        checked.set(request, found instanceof Promise ? await found : found)
      },
      resolve: async ({ request, server }: RequestContext): Promise<{ principal: Principal }> => {
        const found = checked.get(request) ?? check(level, request, server)
        return { principal: found instanceof Promise ? await found : found }
      },
    }),
  })

  /** The principal the request's credential admits at `level`, or throws; a promise only when authenticate needs the database. */
  function check(level: AuthLevel, request: Request, server: PeerSource): Principal | Promise<Principal> {
    const path = requestPath(request)
    // note: takes a refusal the signed-in fast route (session-user.ts) already read for this request, rather than reading the session twice.
    const result = authenticateRequest(deps, request, path)
    return result instanceof Promise ? result.then((settled) => decide(level, request, server, path, settled)) : decide(level, request, server, path, result)
  }

  function decide(level: AuthLevel, request: Request, server: PeerSource, path: string, result: AuthResult): Principal {
    if (!result.ok) {
      if (result.reason === 'api_key_not_allowed' || result.reason === 'api_key_endpoint_denied') {
        const ip = resolveClientAddress(request, server, trustedProxies).ip
        deps.audit.record({ event: 'api_key_denied', ip, reason: result.reason, details: { path: path.slice(0, 120) } })
      }
      throw authRefusal(result.reason)
    }
    const { principal } = result
    if (level !== 'any' && principal.user.role === 'pending') {
      throw new HttpError(403, 'account_pending', 'Your account is awaiting approval by an administrator.')
    }
    if (level === 'admin' && principal.user.role !== 'admin') throw new HttpError(403, 'admin_only', 'Only administrators may do this.')
    if (level === 'session' && principal.via !== 'session') throw new HttpError(403, 'session_required', 'Sign in with a session to do this; API keys may not.')
    return principal
  }
}

type PeerSource = Parameters<typeof resolveClientAddress>[1]
type RequestContext = { request: Request; server: PeerSource }
