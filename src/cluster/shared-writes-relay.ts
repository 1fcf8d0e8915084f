/**
 * Chat and data key writes on every instance (db/shared-writes.ts): each write this instance
 * commits is published on `<prefix>:cluster:writes` (sealed like every bus message; the body holds
 * ids only: the owner, the chat, never a title or a word of a message), and each instance that
 * hears one drops what it held of it: the chat and the owner's search index
 * (`chats.forgetChat`/`forgetOwner`), the owner's data key ring (`dataKeys.forgetRing`), or
 * what is kept at most a second (groups, grants, settings: `settings`, read again at once).
 *
 * Threat: a stale copy served after another instance's write, or a ring that seals under a retired
 * key version. Pub/sub delivers at most once and only while connected, so the chat repository may
 * hold chats on PostgreSQL only while this link is up and subscribed (`setAnnounced(true)`); when
 * it goes down, everything held is dropped and nothing is held until it is back, then from empty.
 * A notice this instance could not publish (Redis down at its write) is made good once the link is
 * back by one `all` notice, on which every other instance drops everything it held. A body in an
 * unknown shape is dropped and logged without its content.
 */
import type { ChatRepo } from '../db/chats.ts'
import type { DataKeyRepo } from '../db/data-keys.ts'
import type { ChatId, UserId } from '../db/ids.ts'
import type { SharedWritesHub, WriteNotice } from '../db/shared-writes.ts'
import type { Logger } from '../log/logger.ts'
import type { ClusterBus } from './cluster-bus.ts'

/** What a notice from another instance drops here; `keptReadsStale` drops what kept-read.ts keeps (groups, grants, settings). */
export type HeldCopies = {
  chats: Pick<ChatRepo, 'forgetChat' | 'forgetOwner' | 'forgetEverything'>
  dataKeys: Pick<DataKeyRepo, 'forgetRing'> & Partial<Pick<DataKeyRepo, 'cacheRingsOnlyWhile'>>
  keptReadsStale?: () => void
}

/** Publishes this instance's writes, applies the others', and keeps `shared.isAnnounced` true only while notices reach here; settles once subscribed. */
export async function connectSharedWritesRelay(bus: ClusterBus, shared: SharedWritesHub, held: HeldCopies, log: Logger): Promise<() => void> {
  // note: set when a notice could not go out; the next time the link is up, one `all` notice stands for every one lost.
  let hasLostNotices = shared.takeMissedNotices()
  const publish = (notice: WriteNotice) => {
    if (!bus.isShared()) {
      hasLostNotices = true
      return
    }
    void bus.publish('writes', notice).then((sent) => {
      if (!sent) hasLostNotices = true
    })
  }
  const stopAnnouncing = shared.onAnnounce(publish)

  let isSubscribed = false
  // note: keys as chats: no ring is kept while notices may be lost, and none kept from before a gap.
  held.dataKeys.cacheRingsOnlyWhile?.(() => shared.isAnnounced)
  const follow = (state: string) => {
    const isUp = state === 'up' && isSubscribed
    if (isUp && hasLostNotices) {
      hasLostNotices = false
      publish({ kind: 'all' })
    }
    if (isUp === shared.isAnnounced) return
    shared.setAnnounced(isUp)
    held.dataKeys.forgetRing(null)
    held.keptReadsStale?.()
  }
  const stopFollowing = bus.link.onStateChange(follow)

  await bus.subscribe('writes', (body) => {
    const notice = parseNotice(body)
    if (notice === null) return log.warn('Dropped a write notice in an unknown shape')
    apply(notice, held)
  })
  isSubscribed = true
  follow(bus.link.state())
  return () => {
    stopAnnouncing()
    stopFollowing()
    shared.setAnnounced(false)
  }
}

function apply(notice: WriteNotice, { chats, dataKeys, keptReadsStale }: HeldCopies): void {
  if (notice.kind === 'chat') {
    if (notice.chatId === null) chats.forgetOwner(notice.owner)
    else chats.forgetChat(notice.owner, notice.chatId)
  } else if (notice.kind === 'keys') {
    dataKeys.forgetRing(notice.owner)
    // note: the held chats were opened under the old ring; they go with it.
    if (notice.owner === null) chats.forgetEverything()
    else chats.forgetOwner(notice.owner as UserId)
  } else if (notice.kind === 'settings') {
    keptReadsStale?.()
  } else {
    dataKeys.forgetRing(null)
    chats.forgetEverything()
    keptReadsStale?.()
  }
}

const MAX_ID_LENGTH = 128
const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH

/** A notice in a known shape, or null. */
export function parseNotice(body: unknown): WriteNotice | null {
  if (typeof body !== 'object' || body === null) return null
  const { kind, owner, chatId } = body as Record<string, unknown>
  if (kind === 'chat' && isId(owner) && (chatId === null || isId(chatId))) return { kind, owner: owner as UserId, chatId: chatId as ChatId | null }
  if (kind === 'keys' && (owner === null || isId(owner))) return { kind, owner }
  if (kind === 'all' || kind === 'settings') return { kind }
  return null
}
