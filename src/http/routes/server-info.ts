/**
 * What the clients' "about" and banner views read: GET /api/version/updates (no update check is
 * made: Enclave never calls out, so `latest` is the running version), GET /api/changelog (a short
 * note, not Open WebUI's release history), and the banners an admin sets for every user
 * (GET/POST /api/v1/configs/banners, stored sealed in the settings).
 */
import { Elysia, t } from 'elysia'
import { Integer } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import { VERSION } from '../../version.ts'
import { resolveClientAddress } from '../client-address.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const BANNERS_SETTING = 'banners'

// note: Open WebUI's BannerModel; `type` picks the colour (info, warning, error, success).
const Banner = t.Object({
  id: t.String({ minLength: 1, maxLength: 100 }),
  type: t.String({ maxLength: 20 }),
  title: t.Optional(t.Nullable(t.String({ maxLength: 500 }))),
  content: t.String({ maxLength: 5000 }),
  dismissible: t.Boolean(),
  timestamp: Integer({ minimum: 0 }),
})
const BannersBody = t.Object({ banners: t.Array(Banner, { maxItems: 20 }) })

export const serverInfoRoutes = (deps: AuthDeps, trustedProxies: AddressList) =>
  new Elysia()
    .use(requireAuth(deps, trustedProxies))
    .get('/api/version/updates', () => ({ current: VERSION, latest: VERSION }), { auth: 'active' })

    .get('/api/changelog', () => ({
      [VERSION]: { date: '', note: 'Enclave does not ship Open WebUI\'s release notes; see the project\'s own release page.' },
    }))

    .get('/api/v1/configs/banners', async () => await deps.store.settings.readSetting(BANNERS_SETTING) ?? [], { auth: 'active' })

    .post('/api/v1/configs/banners', async ({ body, principal, request, server }) => {
      await deps.store.settings.writeSetting(BANNERS_SETTING, body.banners)
      deps.audit.record({ event: 'banners_changed', actorId: principal.user.id, ip: resolveClientAddress(request, server, trustedProxies).ip, details: { count: body.banners.length } })
      return body.banners
    }, { auth: 'admin', body: BannersBody })
