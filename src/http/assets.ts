/**
 * The embedded browser UI. scripts/build-ui.ts bundles static/ and lists the files in
 * build/ui-assets.gen.ts; each is imported `with { type: 'file' }`, so the compiled binary carries
 * them and needs nothing beside it. Hashed assets are cached for a year; index.html is revalidated
 * on every load so a new release is picked up at once.
 */
import { Elysia } from 'elysia'
import { uiFiles } from '../../build/ui-assets.gen.ts'
import { HttpError } from './http-error.ts'

const IMMUTABLE = 'public, max-age=31536000, immutable'

/** Paths that belong to the API and must answer JSON 404s, never the UI page. */
const apiPrefixes = ['/api/', '/oauth/', '/ollama/', '/openai/', '/health', '/ws']

export const staticAssets = () => {
  const files = new Map(uiFiles.map((file) => [file.urlPath, file.filePath]))
  const indexPath = files.get('/index.html')
  if (indexPath === undefined) throw new Error('The UI bundle has no index.html: run `npm run build:ui`.')

  const serveIndex = () =>
    new Response(Bun.file(indexPath), { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } })

  return new Elysia({ name: 'static-assets' })
    .get('/', serveIndex)
    .get('/*', ({ path }) => {
      const filePath = files.get(path)
      if (filePath !== undefined && path !== '/index.html') {
        return new Response(Bun.file(filePath), { headers: { 'cache-control': path.startsWith('/assets/') ? IMMUTABLE : 'no-cache' } })
      }
      const isApiPath = apiPrefixes.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix))
      // note: a missing asset must 404, or a stale page would load HTML as its script.
      if (isApiPath || path.startsWith('/assets/')) throw new HttpError(404, 'not_found', 'Not found.')
      return serveIndex()
    })
}
