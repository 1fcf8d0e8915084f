/**
 * The embedded browser UI. scripts/build-ui.ts bundles static/ and lists the files in
 * build/ui-assets.gen.ts; each is imported `with { type: 'file' }`, so the compiled binary carries
 * them and needs nothing beside it. Hashed assets are cached for a year; index.html is revalidated
 * on every load so a new release is picked up at once. A browser that accepts gzip gets each file
 * gzipped, compressed once on first request and kept in memory (the whole UI is a few hundred KB).
 */
import { Elysia } from 'elysia'
import { uiFiles } from '../../build/ui-assets.gen.ts'
import { HttpError } from './http-error.ts'
import { requestPath } from './request-path.ts'

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** Paths that belong to the API and must answer JSON 404s, never the UI page. */
const apiPrefixes = ['/api/', '/oauth/', '/ollama/', '/openai/', '/health', '/ws']

/** True when the request's Accept-Encoding allows gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string | null): boolean {
  if (header === null) return false
  return header.split(',').some((entry) => {
    const [coding, ...params] = entry.trim().toLowerCase().split(';')
    if (coding !== 'gzip' && coding !== '*') return false
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/** The UI's files and the page's answer, made once per app: the page fast route (page-answer.ts) and the app's routes share its gzip cache. */
export function uiPage() {
  const files = new Map(uiFiles.map((file) => [file.urlPath, file.filePath]))
  const indexPath = files.get('/index.html')
  if (indexPath === undefined) throw new Error('The UI bundle has no index.html: run `npm run build:ui`.')
  const gzipped = new Map<string, Promise<Uint8Array<ArrayBuffer>>>()

  /** The file as a response, gzipped when the browser takes it. */
  const serveFile = async (request: Request, filePath: string, headers: Record<string, string>) => {
    const file = Bun.file(filePath)
    const common = { 'content-type': headers['content-type'] ?? file.type, vary: 'accept-encoding', ...headers }
    if (!acceptsGzip(request.headers.get('accept-encoding'))) return new Response(file, { headers: common })
    let body = gzipped.get(filePath)
    if (body === undefined) {
      body = file.bytes().then((bytes) => new Uint8Array(Bun.gzipSync(bytes, { level: 9 })))
      gzipped.set(filePath, body)
    }
    return new Response(await body, { headers: { ...common, 'content-encoding': 'gzip' } })
  }
  const serveIndex = (request: Request) =>
    serveFile(request, indexPath, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
  return { files, serveFile, serveIndex }
}

export type UiPage = ReturnType<typeof uiPage>

/**
 * The picture of a user who set none (static/user.png, embedded with the UI and served at /user.png,
 * the default `profile_image_url`), as /api/v1/users/{id}/profile/image answers it: kept a minute
 * only, as that user may set one.
 */
export function defaultPicture(): Response {
  const found = uiFiles.find((file) => file.urlPath === '/user.png')
  if (found === undefined) throw new Error('The UI bundle has no user.png: run `npm run build:ui`.')
  return new Response(Bun.file(found.filePath), { headers: { 'content-type': 'image/png', 'cache-control': 'private, max-age=60' } })
}

export const staticAssets = ({ files, serveFile, serveIndex }: UiPage = uiPage()) => {
  return new Elysia({ name: 'static-assets' })
    .get('/', ({ request }) => serveIndex(request))
    .get('/*', ({ request }) => {
      const path = requestPath(request)
      const filePath = files.get(path)
      if (filePath !== undefined && path !== '/index.html') {
        return serveFile(request, filePath, { 'cache-control': path.startsWith('/assets/') ? IMMUTABLE : 'no-cache' })
      }
      const isApiPath = apiPrefixes.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix))
      // note: a missing asset must 404, or a stale page would load HTML as its script.
      if (isApiPath || path.startsWith('/assets/')) throw new HttpError(404, 'not_found', 'Not found.')
      return serveIndex(request)
    })
}
