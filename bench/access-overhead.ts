/**
 * The model access check's cost (auth/model-access.ts) with 100 groups and 1,000 grants: a user in
 * 10 of the groups, asking for a model whose grant lists 50 groups and 50 users. The judged figure
 * is the check's added cost per chat request at p50: the decision as a chat request asks it, against
 * the same decision with BYPASS_MODEL_ACCESS_CONTROL on, in alternation (a decision is remembered
 * until a group or grant changes; the first one after a change, hasAccess over the lists, is shown). For context, the whole
 * request (POST /api/chat/completions through the real app in process, to the Ollama stand-in) is
 * timed both ways too; its difference carries the stand-in's noise, so it is shown, not judged.
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { hasAccess } from '../src/auth/access-control.ts'
import { createModelAccess } from '../src/auth/model-access.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { loadConfig } from '../src/config/load-config.ts'
import type { UserId } from '../src/db/ids.ts'
import { openMemoryStore } from '../src/db/open-store.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import { startFakeOllama } from '../test/fakes/ollama.ts'
import { median, medianMsInterleaved, medianMsInterleavedAsync, nowMs } from './measure.ts'
import { formatNumber, type BenchRow } from './report.ts'

const GROUPS = 100
const GRANTS = 1_000
const MODEL = 'llama3.2:1b'
const CHECKS_PER_RUN = 10_000
const REQUESTS = 3_000

export type AccessFigures = { checkUs: number; bypassUs: number; uncachedUs: number; requestUs: number; bypassRequestUs: number }

/** Builds an app whose store holds the groups and grants, with the bypass switch as given. */
async function appWith(bypass: boolean, ollamaUrl: string) {
  const store = openMemoryStore()
  const config = loadConfig({ env: { OLLAMA_BASE_URL: ollamaUrl, BYPASS_MODEL_ACCESS_CONTROL: String(bypass), DEFAULT_USER_ROLE: 'user', ENABLE_TITLE_GENERATION: 'false' }, cwd: process.cwd() })
  const app = createApp({
    config, store, log: silentLogger, sessionSecret: crypto.randomUUID(), audit: createMemoryAuditLog(), now: Date.now, setupGate: openGate,
  })
  const signUp = async (email: string) => {
    const res = await app.handle(new Request('http://localhost/api/v1/auths/signup', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bench', email, password: 'bench password, long enough' }),
    }))
    return (await res.json()) as { token: string; id: UserId }
  }
  await signUp('admin@example.com')
  const user = await signUp('user@example.com')
  const groupIds: string[] = []
  for (let i = 0; i < GROUPS; i++) {
    const made = await store.groups.createLocalGroup({ name: `group ${i}`, permissions: { workspace: { models: i % 2 === 0 } } })
    if (!made.ok) throw new Error('group')
    groupIds.push(made.group.id)
    if (i % 10 === 9) await store.groups.addMember(made.group.id, user.id, 'local')
  }
  const grant = (offset: number) => ({ read: { group_ids: groupIds.slice(offset % 50, (offset % 50) + 50), user_ids: Array.from({ length: 50 }, (_, i) => `user-${offset}-${i}`) }, write: { group_ids: [], user_ids: [] } })
  for (let i = 0; i < GRANTS - 1; i++) await store.modelGrants.setGrant(`model-${i}:latest`, grant(i), 'bench')
  // note: the asked model's grant names the user's last group only, so the check walks the lists.
  const otherGroups = groupIds.filter((_, i) => i % 10 !== 9).slice(0, 49)
  await store.modelGrants.setGrant(MODEL, { read: { group_ids: [...otherGroups, groupIds[99]!], user_ids: grant(7).read.user_ids }, write: { group_ids: [], user_ids: [] } }, 'bench')
  // note: built as createAuthDeps builds the app's own, over the same store and settings.
  const models = createModelAccess({ grants: store.modelGrants, groups: store.groups, policy: () => config.auth.access })
  return { app, store, user, models }
}

/** Measures the decision and the whole request, each against bypass, in alternation. */
export async function measureAccessOverhead(): Promise<AccessFigures> {
  const ollama = await startFakeOllama()
  try {
    const checked = await appWith(false, ollama.url)
    const bypassed = await appWith(true, ollama.url)
    // note: the decision exactly as a chat request asks it: the principal authenticate() built, and the model.
    const asked = { user: (await checked.store.users.findUserById(checked.user.id))! }
    const askedBypass = { user: (await bypassed.store.users.findUserById(bypassed.user.id))! }
    if (!await checked.models.mayUse(asked, MODEL) || !await bypassed.models.mayUse(askedBypass, MODEL)) throw new Error('the bench user must be granted the model')
    const [checkMs, bypassMs] = await medianMsInterleavedAsync([
      async () => { for (let i = 0; i < CHECKS_PER_RUN; i++) await checked.models.mayUse(asked, MODEL) },
      async () => { for (let i = 0; i < CHECKS_PER_RUN; i++) await bypassed.models.mayUse(askedBypass, MODEL) },
    ], { warmups: 5, repetitions: 31 })
    // note: the decision before it is remembered (the first request after a group or grant change): hasAccess over the lists.
    const accessor = { id: asked.user.id, role: asked.user.role, groupIds: await checked.store.groups.groupIdsOfUser(asked.user.id) }
    const grant = { ownerId: null, access: (await checked.store.modelGrants.findGrant(MODEL))!.access }
    const uncachedMs = medianMsInterleaved([() => { for (let i = 0; i < CHECKS_PER_RUN; i++) hasAccess(accessor, grant, 'read', { bypassAdmin: true }) }], { warmups: 3, repetitions: 15 })[0]!

    const request = (token: string) => new Request('http://localhost/api/chat/completions', {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
    })
    const tokenOf = async (app: typeof checked.app) => {
      const res = await app.handle(new Request('http://localhost/api/v1/auths/signin', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'user@example.com', password: 'bench password, long enough' }),
      }))
      return ((await res.json()) as { token: string }).token
    }
    const tokens = [await tokenOf(checked.app), await tokenOf(bypassed.app)] as const
    // note: one request of each in turn, each timed alone, so both meet the same moments of the machine; p50 of each.
    const once = async (app: typeof checked.app, token: string) => {
      const start = nowMs()
      const res = await app.handle(request(token))
      if (res.status !== 200) throw new Error(`chat request answered ${res.status}`)
      await res.arrayBuffer()
      return (nowMs() - start) * 1000
    }
    const withCheck: number[] = []
    const withBypass: number[] = []
    for (let i = 0; i < REQUESTS; i++) {
      const checkedUs = await once(checked.app, tokens[0])
      const bypassedUs = await once(bypassed.app, tokens[1])
      if (i >= REQUESTS / 10) {
        withCheck.push(checkedUs)
        withBypass.push(bypassedUs)
      }
    }
    return {
      checkUs: (checkMs! * 1000) / CHECKS_PER_RUN, bypassUs: (bypassMs! * 1000) / CHECKS_PER_RUN, uncachedUs: (uncachedMs * 1000) / CHECKS_PER_RUN,
      requestUs: median(withCheck), bypassRequestUs: median(withBypass),
    }
  } finally {
    await ollama.stop()
  }
}

/** The check's added cost per chat request against ≤5 µs, with the whole request shown for context. */
export function accessOverheadRows({ checkUs, bypassUs, uncachedUs, requestUs, bypassRequestUs }: AccessFigures): BenchRow[] {
  const added = checkUs - bypassUs
  return [{
    name: `model access check (${GROUPS} groups, ${formatNumber(GRANTS)} grants)`,
    figures: [`check ${formatNumber(checkUs, 2)} µs vs bypass ${formatNumber(bypassUs, 2)} µs`, `first after a change ${formatNumber(uncachedUs, 2)} µs`,
      `chat request ${formatNumber(requestUs, 1)} µs vs ${formatNumber(bypassRequestUs, 1)} µs with bypass`],
    measured: added,
    measuredText: `${formatNumber(added, 2)} µs`,
    target: { kind: 'atMost', limit: 5, label: '≤5 µs' },
  }]
}

if (import.meta.main) {
  const figures = await measureAccessOverhead()
  console.log(accessOverheadRows(figures).map((row) => `${row.name}: ${row.measuredText} (${row.figures.join('; ')}), target ${row.target.label}`).join('\n'))
}
