/**
 * Open WebUI's chat sharing under /api/v1/chats: an owner shares a chat as a link (a snapshot taken
 * then, renewed by sharing again), revokes it, and any signed-in user holding the link reads or
 * clones the snapshot. Off unless ENABLE_COMMUNITY_SHARING is on (the admin config's setting, the
 * environment's until an admin saves one; Open WebUI's default is on): then every route here
 * answers 403. A share is sealed at rest (src/db/chat-shares.ts); an unknown or revoked link and
 * another user's chat are 404 alike.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Config } from '../../config/load-config.ts'
import { parseShareId, type ChatShare, type ShareId } from '../../db/chat-shares.ts'
import { newChatId, parseChatId, type ChatId, type UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requirePermission } from '../permission-gate.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { describeChat } from './chats.ts'

const Params = t.Object({ id: t.String() })
const seconds = (ms: number) => Math.floor(ms / 1000)
const chatNotFound = () => new HttpError(404, 'chat_not_found', 'Chat not found.')

/** A share as Open WebUI answers a shared chat: its own id (the link's), both as `id` and `share_id`. */
const describeShare = (share: ChatShare) => ({
  ...describeChat(share.snapshot), id: share.id, share_id: share.id, user_id: `shared-${share.chatId}`,
  created_at: seconds(share.createdAt), updated_at: seconds(share.updatedAt), pinned: false, archived: false, folder_id: null,
})

export const chatShareRoutes = (deps: AuthDeps, config: Config) => {
  const { chats, chatShares } = deps.store
  const refuseUnlessEnabled = () => {
    // note: the admin's setting (POST /api/v1/auths/admin/config) over the environment's, read per request (runtime-auth.ts).
    if (!deps.auth.enableCommunitySharing) throw new HttpError(403, 'sharing_disabled', 'Sharing chats is turned off on this server.')
  }
  const ownChatId = async (owner: UserId, raw: string): Promise<ChatId> => {
    const id = parseChatId(raw)
    if (id === null || (await chats.findChatForUser(owner, id)) === null) throw chatNotFound()
    return id
  }
  const readShare = async (raw: string): Promise<ChatShare> => {
    const id = parseShareId(raw)
    const share = id === null ? null : await chatShares.readShare(id as ShareId)
    if (share === null) throw chatNotFound()
    return share
  }

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, config.trustedProxies))
    // note: Open WebUI's "shared chats" list (settings), 60 a page: the chat's id and title with its link's id.
    .get('/shared', async ({ principal, query }) => {
      refuseUnlessEnabled()
      const size = 60
      const listed = []
      for (const share of await chatShares.listSharesOfOwner(principal.user.id, { limit: size, offset: ((query.page ?? 1) - 1) * size })) {
        const chat = await chats.findChatForUser(principal.user.id, share.chatId)
        if (chat !== null) listed.push({ id: chat.id, title: chat.title, share_id: share.id, updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt) })
      }
      return listed
    }, { auth: 'active', query: t.Object({ page: t.Optional(Numeric({ minimum: 1, maximum: 1_000_000 })) }, { additionalProperties: true }) })

    // note: as Open WebUI (routers/chats.py share_chat_by_id), making a link needs chat.share.
    .post('/:id/share', async ({ principal, params }) => {
      refuseUnlessEnabled()
      await requirePermission(deps.permissions, principal, 'chat.share')
      const owner = principal.user.id
      const chatId = await ownChatId(owner, params.id)
      const tree = await chats.readChatTree(owner, chatId)
      const shareId = tree === null ? null : await chatShares.shareChat(owner, chatId, tree)
      const share = shareId === null ? null : await chatShares.readShare(shareId)
      if (share === null) throw chatNotFound()
      return describeShare(share)
    }, { auth: 'active', params: Params })

    // note: as Open WebUI, false when the chat had no link to revoke.
    .delete('/:id/share', async ({ principal, params }) => {
      refuseUnlessEnabled()
      const owner = principal.user.id
      return chatShares.unshareChat(owner, await ownChatId(owner, params.id))
    }, { auth: 'active', params: Params })

    .get('/share/:id', async ({ params }) => {
      refuseUnlessEnabled()
      return describeShare(await readShare(params.id))
    }, { auth: 'active', params: Params })

    // note: as Open WebUI, the copy is the reader's own chat, titled as the share, naming the chat it came from.
    .post('/:id/clone/shared', async ({ principal, params }) => {
      refuseUnlessEnabled()
      const owner = principal.user.id
      const { snapshot, chatId } = await readShare(params.id)
      const uidOf = new Map(snapshot.messages.map((message) => [message.id, message.uid]))
      const currentUid = snapshot.chat.currentId === null ? null : uidOf.get(snapshot.chat.currentId) ?? null
      const clone = await chats.createChatFromContent(owner, {
        title: `Clone of ${snapshot.chat.title}`,
        settings: { ...snapshot.settings, extra: { ...snapshot.settings.extra, originalChatId: chatId, branchPointMessageId: currentUid } },
        messages: {
          kind: 'tree', currentUid,
          messages: snapshot.messages.map((message) => ({ ...message, parentUid: message.parentId === null ? null : uidOf.get(message.parentId)! })),
        },
      }, { id: newChatId(), createdAt: deps.now(), updatedAt: deps.now() })
      const tree = await chats.readChatTree(owner, clone.id)
      if (tree === null) throw chatNotFound()
      return describeChat(tree)
    }, { auth: 'active', params: Params })
}
