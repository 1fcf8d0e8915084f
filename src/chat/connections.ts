/**
 * The Ollama servers Enclave uses: the list an administrator saved (sealed in the settings under
 * `ollama.connections`), else the one from the environment. Models are listed from all of them at
 * once and merged; a model several servers have is served by the first of them that answers.
 * An administrator may turn a connection off (`ollama.connections.disabled`): it stays in the list,
 * keeps its index, and is neither asked for models nor used for chats until turned on again.
 *
 * Threat: a URL here makes the server send requests, so only admin routes may change the list,
 * and only to URLs that passed `parseOllamaUrls` (no credentials, so none reach a log or an error).
 * Ordinary users see model names and connection indexes, never URLs.
 */
import { isParseFailure } from '../config/parsers.ts'
import { parseOllamaUrls } from '../config/ollama-variables.ts'
import { keptRead } from '../db/kept-read.ts'
import type { SettingsRepo } from '../db/settings.ts'
import type { Logger } from '../log/logger.ts'
import { createContextWindows } from './context-window.ts'
import { createOllamaClient, OllamaError, parseBaseUrl, type Fetch, type OllamaClient, type OllamaFailureReason, type OllamaModel, type OllamaTimeouts } from './ollama-client.ts'

/** The setting the admin-saved list lives in: a JSON array of URLs. */
export const CONNECTIONS_SETTING = 'ollama.connections'
/** The setting holding the URLs an administrator turned off (kept in the list, not asked): a JSON array. */
export const DISABLED_CONNECTIONS_SETTING = 'ollama.connections.disabled'
/** How long a model listing is reused before the servers are asked again. */
export const MODEL_LIST_TTL_MS = 5_000
/** A listing waits at most this long on a server, so one that hangs can't stall the model picker. */
export const MODEL_LIST_TIMEOUT_MS = 10_000
/** How many listed models a start asks /api/show for, one after the other (Ollama lists the newest first). */
export const EARLY_WINDOW_MODELS = 16

/** One model and the connections (indexes, in list order) that have it; `entry` is the first one's tags entry. */
export type ListedModel = { name: string; entry: OllamaModel; connections: number[] }
/** How a connection answered the last listing; `message` is safe for administrators (no URL). */
export type ConnectionStatus =
  | { connection: number; url: string; ok: true; modelCount: number }
  | { connection: number; url: string; ok: false; reason: OllamaFailureReason; message: string }
  | { connection: number; url: string; ok: false; reason: 'disabled'; message: string }
/** The merged model list with how each connection fared. */
export type ModelListing = { models: ListedModel[]; statuses: ConnectionStatus[] }
/** One connection's reachability and version, for the admin status page. */
export type ConnectionHealth =
  | { connection: number; url: string; reachable: true; version: string }
  | { connection: number; url: string; reachable: false; reason: OllamaFailureReason; message: string }
/** A connection to send a request to. */
export type Connection = { connection: number; client: OllamaClient }

export type Connections = ReturnType<typeof createConnections>

type Options = {
  /** The environment's list (config.ollama.urls), used while no admin list is saved. */
  urls: readonly string[]
  timeouts: OllamaTimeouts
  settings: Pick<SettingsRepo, 'readSetting' | 'writeSetting'> & Partial<Pick<SettingsRepo, 'onWrittenElsewhere'>>
  /** Unix time in ms. */
  now: () => number
  fetch?: Fetch
  /** Hears of failed calls, and of each connection's listing when it answers or fails after it did not. */
  log?: Logger
}

/** Builds the connection list over the settings; nothing is fetched until a listing is asked for. */
export function createConnections({ urls: envUrls, timeouts, settings, now, fetch, log }: Options) {
  const listTimeouts = { firstByteMs: Math.min(timeouts.firstByteMs, MODEL_LIST_TIMEOUT_MS), idleMs: Math.min(timeouts.idleMs, MODEL_LIST_TIMEOUT_MS) }
  let saved: string[] | null = null
  let disabled: string[] = []
  let clients = clientsFor(envUrls)
  // note: the saved lists are read again after at most a second (kept-read.ts), so an admin's change
  // through another instance on the same database holds here within that time.
  const stored = keptRead(async () => {
    const [urls, off] = await Promise.all([settings.readSetting(CONNECTIONS_SETTING), settings.readSetting(DISABLED_CONNECTIONS_SETTING)])
    return { urls: checkSavedUrls(urls), off: checkDisabledUrls(off), text: JSON.stringify([urls, off]) }
  }, now)
  // note: with Redis, another instance's write drops it at once.
  settings.onWrittenElsewhere?.(() => stored.forget())
  let appliedText = JSON.stringify([null, null])
  /** Puts the stored lists in effect when they differ from what is (a read at most once a second). */
  async function fresh(): Promise<void> {
    apply(await stored.get())
  }
  /** Whether the lists in effect are the stored ones as read less than a second ago (then `fresh()` would read nothing). */
  function isFresh(): boolean {
    const read = stored.peekFresh()
    if (read === undefined) return false
    apply(read)
    return true
  }
  function apply(read: Awaited<ReturnType<typeof stored.get>>): void {
    if (read.text === appliedText) return
    appliedText = read.text
    saved = read.urls
    disabled = read.off
    clients = clientsFor(saved ?? envUrls)
    cached = null
    lastArrived = null
  }
  /** For what answers at once from the lists in effect: a read behind it, for the next caller. */
  const freshenBehind = () => void fresh().catch(() => {})
  let cached: { at: number; clients: typeof clients; listing: Promise<ModelListing> } | null = null
  /** The newest listing that has arrived, with the clients it was made with; kept while a fresher one is on its way. */
  let lastArrived: { clients: typeof clients; listing: ModelListing } | null = null

  /** Each model's context window on each connection's client, which bounds what a turn sends (context-window.ts). */
  const contextWindows = createContextWindows(now)

  /** How each URL's last listing went ('ok' or the failure reason), so a change is logged once, not every listing. */
  const listedStates = new Map<string, string>()

  function clientsFor(urls: readonly string[]) {
    return urls.map((url, connection) => ({
      url,
      client: createOllamaClient({
        baseUrl: url, timeouts, ...(fetch ? { fetch } : {}),
        onFailure: (error, path) => log?.warn(`Ollama request failed: ${error.message}`, { connection, url: shownUrl(url), path, reason: error.reason, status: error.status }),
      }),
      lister: createOllamaClient({ baseUrl: url, timeouts: listTimeouts, ...(fetch ? { fetch } : {}) }),
    }))
  }

  async function fetchListing(current: typeof clients): Promise<ModelListing> {
    const isOff = new Set(disabled)
    const answers = await Promise.all(current.map(({ url, lister }) => isOff.has(url)
      ? Promise.resolve({ reason: 'disabled' as const, message: 'Turned off by an administrator.' })
      : lister.listModels().then((models) => ({ models }), failureOf)))
    const byName = new Map<string, ListedModel>()
    const statuses = answers.map((answer, connection): ConnectionStatus => {
      const { url } = current[connection]!
      if ('reason' in answer) return answer.reason === 'disabled' ? { connection, url, ok: false, reason: 'disabled', message: answer.message } : { connection, url, ok: false, reason: answer.reason, message: answer.message }
      for (const entry of answer.models) {
        const listed = byName.get(fullModelName(entry.name))
        if (listed === undefined) byName.set(fullModelName(entry.name), { name: entry.name, entry, connections: [connection] })
        else if (!listed.connections.includes(connection)) listed.connections.push(connection)
      }
      return { connection, url, ok: true, modelCount: answer.models.length }
    })
    for (const status of statuses) logListingChange(status)
    return { models: [...byName.values()], statuses }
  }

  /** Logs a connection's listing the first time, and again only when it starts or stops failing. */
  function logListingChange(status: ConnectionStatus): void {
    const state = status.ok ? 'ok' : status.reason
    if (listedStates.get(status.url) === state || state === 'disabled') return
    listedStates.set(status.url, state)
    const fields = { connection: status.connection, url: shownUrl(status.url) }
    if (status.ok) log?.info(`Ollama answers with ${status.modelCount} model${status.modelCount === 1 ? '' : 's'}`, fields)
    else log?.warn(`Ollama did not list its models: ${status.message}`, { ...fields, reason: status.reason })
  }

  /** The cached listing with the clients it was made with, refreshed after MODEL_LIST_TTL_MS. */
  function currentListing() {
    if (cached === null || now() - cached.at >= MODEL_LIST_TTL_MS) {
      const entry = { at: now(), clients, listing: fetchListing(clients) }
      cached = entry
      entry.listing.then((listing) => {
        if (cached === entry) lastArrived = { clients: entry.clients, listing }
      }, () => {})
    }
    return cached
  }

  function connectionsFor(listing: ModelListing, listedClients: typeof clients, model: string): Connection[] | null {
    const listed = listing.models.find((candidate) => fullModelName(candidate.name) === fullModelName(model))
    return listed === undefined ? null : listed.connections.map((connection) => ({ connection, client: listedClients[connection]!.client }))
  }

  return {
    /** The URLs in use, in failover order, and whether they come from the settings or the environment. */
    /** Brings the lists in effect up to date with the stored ones (a read at most once a second); HTTP requests await it first. */
    fresh,
    /** At once: true while the lists in effect were read less than a second ago (the per-request `fresh()` may be skipped). */
    isFresh,

    listUrls(): { urls: string[]; source: 'settings' | 'env' } {
      freshenBehind()
      return { urls: clients.map(({ url }) => url), source: saved === null ? 'env' : 'settings' }
    },

    /**
     * Saves a new list (checked by `parseOllamaUrls` first), or with null forgets the saved one and
     * goes back to the environment's. Returns the problem instead when the list is refused.
     */
    async replaceUrls(urls: readonly string[] | null): Promise<{ ok: true } | { ok: false; expected: string }> {
      const parsed = urls === null ? null : parseOllamaUrls(urls)
      if (parsed !== null && isParseFailure(parsed)) return { ok: false, expected: parsed.expected }
      await fresh()
      await settings.writeSetting(CONNECTIONS_SETTING, parsed)
      saved = parsed
      clients = clientsFor(parsed ?? envUrls)
      // note: a URL removed from the list is forgotten as turned off too, so adding it back turns it on.
      const kept = disabled.filter((url) => clients.some((client) => client.url === url))
      if (kept.length !== disabled.length) await settings.writeSetting(DISABLED_CONNECTIONS_SETTING, kept.length === 0 ? null : kept)
      disabled = kept
      stored.forget()
      appliedText = JSON.stringify([parsed, kept.length === 0 ? null : kept])
      cached = null
      lastArrived = null
      return { ok: true }
    },

    /** The URLs an administrator turned off: kept in the list, not asked for models, not used for chats. */
    listDisabledUrls(): string[] {
      freshenBehind()
      return [...disabled]
    },

    /** Turns a connection of the list off or on again; false when the URL is not in the list. */
    async setConnectionEnabled(url: string, isEnabled: boolean): Promise<boolean> {
      await fresh()
      if (!clients.some((client) => client.url === url)) return false
      const next = isEnabled ? disabled.filter((candidate) => candidate !== url) : [...new Set([...disabled, url])]
      await settings.writeSetting(DISABLED_CONNECTIONS_SETTING, next.length === 0 ? null : next)
      disabled = next
      stored.forget()
      appliedText = JSON.stringify([saved, next.length === 0 ? null : next])
      cached = null
      lastArrived = null
      return true
    },

    /** Lists every connection's models, merged by name; reused for MODEL_LIST_TTL_MS. Never throws for a down server. */
    async listModels(): Promise<ModelListing> {
      await fresh()
      return currentListing().listing
    },

    contextWindows,

    /**
     * Asks the first connection of each listed model (the first EARLY_WINDOW_MODELS) for its context
     * window, one after the other, so the first turn with a model neither waits for nor sends
     * /api/show; it goes only to the connections in the list, and settles (never rejects) when done.
     */
    async learnContextWindows(): Promise<void> {
      try {
        await fresh()
        const { clients: listedClients, listing } = currentListing()
        for (const model of (await listing).models.slice(0, EARLY_WINDOW_MODELS)) {
          const first = model.connections[0]
          if (first !== undefined) await contextWindows.learn(listedClients[first]!.client, model.name)
        }
      } catch {
        // note: a window not learnt here is asked for by the first turn with that model, as before.
      }
    },

    /** Drops the cached listing, after a pull or delete changed what a server has. */
    forgetModels(): void {
      cached = null
      lastArrived = null
    },

    /** The connections that have `model`, in list order: try the first, fall back to the next. Empty when none has it. */
    async clientFor(model: string): Promise<Connection[]> {
      await fresh()
      const { clients: listedClients, listing } = currentListing()
      return connectionsFor(await listing, listedClients, model) ?? []
    },

    /**
     * As `clientFor`, at once, when the last listing that arrived names the model; a listing past
     * MODEL_LIST_TTL_MS still answers while a fresh one is fetched behind it, so a chat never waits
     * on /api/tags for a model it has seen. Null when an answer needs a wait (use `clientFor`).
     */
    listedClientFor(model: string): Connection[] | null {
      freshenBehind()
      const last = lastArrived
      const found = last === null ? null : connectionsFor(last.listing, last.clients, model)
      if (found !== null) currentListing()
      return found
    },

    /** The connection at `index` in the list, or null when there is none. */
    connectionAt(index: number): Connection | null {
      freshenBehind()
      const found = clients[index]
      return found === undefined ? null : { connection: index, client: found.client }
    },

    /** Asks every connection for its version, in parallel; uncached. */
    async checkHealth(): Promise<ConnectionHealth[]> {
      await fresh()
      return Promise.all(clients.map(({ url, lister }, connection) =>
        lister.version().then(
          (version): ConnectionHealth => ({ connection, url, reachable: true, version }),
          (error: unknown): ConnectionHealth => ({ connection, url, reachable: false, ...failureOf(error) }),
        )))
    },
  }
}

/** The URL as logs show it: without any user name or password. */
function shownUrl(url: string): string {
  return parseBaseUrl(url).root
}

/** Adds Ollama's default tag, so `llama3.2` and `llama3.2:latest` name the same model. */
export function fullModelName(name: string): string {
  return name.includes(':') ? name : `${name}:latest`
}

function failureOf(error: unknown): { reason: OllamaFailureReason; message: string } {
  if (error instanceof OllamaError) return { reason: error.reason, message: error.message }
  throw error
}

/** Checks the admin-saved list as read; a stored value that is not a valid list is a broken invariant. */
function checkSavedUrls(stored: unknown): string[] | null {
  if (stored === null) return null
  const urls = Array.isArray(stored) && stored.every((url) => typeof url === 'string') ? parseOllamaUrls(stored) : null
  if (urls === null || isParseFailure(urls)) throw new Error(`The stored setting ${CONNECTIONS_SETTING} is not a valid list of Ollama URLs.`)
  return urls
}

/** Checks the turned-off URLs as read; a stored value that is not a list of strings is a broken invariant. */
function checkDisabledUrls(stored: unknown): string[] {
  if (stored === null) return []
  if (!Array.isArray(stored) || !stored.every((url) => typeof url === 'string')) throw new Error(`The stored setting ${DISABLED_CONNECTIONS_SETTING} is not a list of URLs.`)
  return stored
}
