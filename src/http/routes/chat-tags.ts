/**
 * Open WebUI's tag routes under /api/v1/chats: the signed-in user's tags, a chat's tags, adding and
 * removing one, and the chats that carry a tag. A tag's id is its name lower-cased with spaces as
 * underscores, as Open WebUI makes it; tag names are sealed at rest (src/db/chat-tags.ts). Another
 * user's chat id is 404, as an unknown one.
 */
import { Elysia, t } from 'elysia'
import { Integer } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import { tagIdOf, type Tag } from '../../db/chat-tags.ts'
import { ALL_ROWS } from '../../db/chats.ts'
import { parseChatId, type ChatId, type UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const TagName = t.String({ minLength: 1, maxLength: 200 })
const Params = t.Object({ id: t.String() })
const TagBody = t.Object({ name: TagName })
const ChatsByTagBody = t.Object({
  name: TagName, skip: t.Optional(t.Nullable(Integer({ minimum: 0 }))), limit: t.Optional(t.Nullable(Integer({ minimum: 1, maximum: 1000 }))),
})

const seconds = (ms: number) => Math.floor(ms / 1000)
const chatNotFound = () => new HttpError(404, 'chat_not_found', 'Chat not found.')
/** A tag as Open WebUI's TagModel. */
const describeTag = (owner: UserId) => (tag: Tag) => ({ id: tag.id, name: tag.name, user_id: owner, meta: null })

export const chatTagRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const { chats, chatTags } = deps.store
  const ownChatId = (raw: string): ChatId => {
    const id = parseChatId(raw)
    if (id === null) throw chatNotFound()
    return id
  }
  const orNotFound = (tags: Tag[] | null, owner: UserId) => {
    if (tags === null) throw chatNotFound()
    return tags.map(describeTag(owner))
  }
  const allTags = async ({ principal }: { principal: { user: { id: UserId } } }) => (await chatTags.listTagsOfUser(principal.user.id)).map(describeTag(principal.user.id))

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, trustedProxies))
    .get('/all/tags', allTags, { auth: 'active' })
    .get('/tags', allTags, { auth: 'active' })

    // note: as Open WebUI, the chats carrying the tag, newest first, as id, title and times.
    .post('/tags', async ({ principal, body }) => {
      const owner = principal.user.id
      const id = tagIdOf(body.name)
      const tagged = await chatTags.listTagIdsByChat(owner)
      const skip = body.skip ?? 0
      return (await chats.listFilteredChatsForUser(owner, 'live', ALL_ROWS))
        .filter((chat) => tagged.get(chat.id)?.has(id) === true)
        .slice(skip, skip + (body.limit ?? 50))
        .map((chat) => ({ id: chat.id, title: chat.title, updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt) }))
    }, { auth: 'active', body: ChatsByTagBody })

    .get('/:id/tags', async ({ principal, params }) => orNotFound(await chatTags.listTagsOfChat(principal.user.id, ownChatId(params.id)), principal.user.id),
      { auth: 'active', params: Params })

    .post('/:id/tags', async ({ principal, params, body }) => {
      if (body.name === 'None') throw new HttpError(400, 'invalid_tag', "Tag name cannot be 'None'")
      return orNotFound(await chatTags.addTagToChat(principal.user.id, ownChatId(params.id), body.name), principal.user.id)
    }, { auth: 'active', params: Params, body: TagBody })

    .delete('/:id/tags', async ({ principal, params, body }) =>
      orNotFound(await chatTags.removeTagFromChat(principal.user.id, ownChatId(params.id), body.name), principal.user.id),
    { auth: 'active', params: Params, body: TagBody })

    .delete('/:id/tags/all', async ({ principal, params }) => {
      if (!await chatTags.clearTagsOfChat(principal.user.id, ownChatId(params.id))) throw chatNotFound()
      return true
    }, { auth: 'active', params: Params })
}
