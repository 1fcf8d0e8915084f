/**
 * Brings what this instance keeps of the admin's settings (runtime-auth.ts: sign-up, API keys,
 * default permissions; connections.ts: the Ollama list) up to date before a request is handled,
 * so a change saved through another instance on the same database holds here within a second.
 * Each `fresh()` answers from memory while what it keeps is younger than a second (kept-read.ts),
 * so a request pays a read at most once a second per instance.
 */
import { Elysia } from 'elysia'

/**
 * Something that keeps settings in memory and can bring them up to date; `isFresh` tells at once
 * whether what it keeps is younger than its max age (then `fresh()` would read nothing).
 */
export type KeepsSettings = { fresh(): Promise<void>; isFresh?(): boolean }

export const freshSettings = (keepers: readonly KeepsSettings[]) =>
  new Elysia({ name: 'fresh-settings' })
    .onRequest(() => {
      // note: synchronous while everything kept is fresh (the common case: a read at most once a
      // second), so a request waits for no promise; otherwise it awaits the reads.
      if (keepers.every((keeper) => keeper.isFresh?.() === true)) return
      return refreshSettings(keepers)
    })
    .as('global')

/**
 * Brings every keeper up to date. A database that does not answer leaves what is in effect (the
 * next request reads again); the routes that need it fail on their own, and /health/ready reports it.
 */
export async function refreshSettings(keepers: readonly KeepsSettings[]): Promise<void> {
  await Promise.all(keepers.map((keeper) => keeper.fresh().catch(() => {})))
}
