import { Elysia } from 'elysia'
import { VERSION } from '../../version.ts'

// note: both answers never change, so their JSON is written once; the probes that poll /health pay for no serialising.
const HEALTH = JSON.stringify({ status: true })
const VERSION_BODY = JSON.stringify({ version: VERSION })

/** Liveness and version, answered without authentication (Open WebUI's shapes). */
export const healthRoutes = () =>
  new Elysia()
    .get('/health', ({ set }) => {
      set.headers['content-type'] = 'application/json'
      return HEALTH
    })
    .get('/api/version', ({ set }) => {
      set.headers['content-type'] = 'application/json'
      return VERSION_BODY
    })
