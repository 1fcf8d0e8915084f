/**
 * Brings what this instance keeps of the admin's settings (runtime-auth.ts: sign-up, API keys,
 * default permissions; connections.ts: the Ollama list) up to date before a request is handled,
 * so a change saved through another instance on the same database holds here within a second.
 * Each `fresh()` answers from memory while what it keeps is younger than a second (kept-read.ts),
 * so a request pays a read at most once a second per instance.
 */
import { Elysia } from 'elysia'

/** Something that keeps settings in memory and can bring them up to date. */
export type KeepsSettings = { fresh(): Promise<void> }

export const freshSettings = (keepers: readonly KeepsSettings[]) =>
  new Elysia({ name: 'fresh-settings' })
    .onRequest(async () => {
      // note: a database that does not answer leaves what is in effect (the next request reads again);
      // the routes that need it fail on their own, and /health/ready reports it.
      await Promise.all(keepers.map((keeper) => keeper.fresh().catch(() => {})))
    })
    .as('global')
