import { Elysia } from 'elysia'
import { VERSION } from '../../version.ts'

/** Liveness and version, answered without authentication (Open WebUI's shapes). */
export const healthRoutes = () =>
  new Elysia()
    .get('/health', () => ({ status: true }))
    .get('/api/version', () => ({ version: VERSION }))
