/**
 * A GitHub stand-in for the OAuth app flow, as GitHub documents it: /login/oauth/authorize (the
 * person is already signed in and approves at once), /login/oauth/access_token (code + PKCE
 * verifier + client secret in the form, JSON answer), and the API's /user and /user/emails with a
 * Bearer token. On 127.0.0.1 and a free port.
 */
import { createHash, randomBytes } from 'node:crypto'

export type FakeGitHubUser = { id: number; login: string; name: string | null; emails: { email: string; primary: boolean; verified: boolean }[] }

export type FakeGitHub = ReturnType<typeof startFakeGitHub>

/** Starts the stand-in for one OAuth app; `signedInAs` picks who approves the next authorization. */
export function startFakeGitHub(client: { id: string; secret: string }, users: FakeGitHubUser[]) {
  const codes = new Map<string, { user: FakeGitHubUser; challenge: string; redirectUri: string }>()
  const tokens = new Map<string, FakeGitHubUser>()
  const state = { signedInAs: users[0]!.login }

  const server = Bun.serve({
    hostname: '127.0.0.1', port: 0,
    async fetch(request) {
      const url = new URL(request.url)
      if (url.pathname === '/login/oauth/authorize' && request.method === 'GET') {
        const query = url.searchParams
        if (query.get('client_id') !== client.id || query.get('code_challenge_method') !== 'S256') return new Response('bad request', { status: 400 })
        const code = randomBytes(10).toString('hex')
        codes.set(code, { user: users.find((user) => user.login === state.signedInAs)!, challenge: query.get('code_challenge')!, redirectUri: query.get('redirect_uri')! })
        const back = new URL(query.get('redirect_uri')!)
        back.searchParams.set('code', code)
        back.searchParams.set('state', query.get('state')!)
        return Response.redirect(back.href, 302)
      }
      if (url.pathname === '/login/oauth/access_token' && request.method === 'POST') {
        const form = new URLSearchParams(await request.text())
        const grant = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        const verifier = form.get('code_verifier') ?? ''
        const ok = grant !== undefined && form.get('client_id') === client.id && form.get('client_secret') === client.secret
          && form.get('redirect_uri') === grant.redirectUri && createHash('sha256').update(verifier).digest('base64url') === grant.challenge
        if (!ok) return Response.json({ error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' }, { status: 400 })
        const token = `gho_${randomBytes(16).toString('hex')}`
        tokens.set(token, grant.user)
        return Response.json({ access_token: token, token_type: 'bearer', scope: 'user:email' })
      }
      const user = tokens.get(request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '')
      if (user === undefined) return Response.json({ message: 'Requires authentication' }, { status: 401 })
      if (url.pathname === '/user') return Response.json({ id: user.id, login: user.login, name: user.name, avatar_url: `https://avatars.example/${user.id}` })
      if (url.pathname === '/user/emails') return Response.json(user.emails.map((entry) => ({ ...entry, visibility: null })))
      return Response.json({ message: 'Not Found' }, { status: 404 })
    },
  })
  const base = `http://127.0.0.1:${server.port}`
  return {
    state,
    endpoints: { authorization: `${base}/login/oauth/authorize`, token: `${base}/login/oauth/access_token`, api: base },
    stop: () => server.stop(true),
  }
}
