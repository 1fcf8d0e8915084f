import { expect, test } from 'bun:test'
import type { UserId } from '../../src/db/ids.ts'
import { signUp } from '../helpers/accounts.ts'
import { startTestApp } from '../helpers/test-app.ts'
import { connect, ofType } from '../helpers/ws.ts'

test('a chat whose stored data no longer decrypts answers an internal_error frame; the socket lives on', async () => {
  const { app, deps, logLines } = startTestApp({})
  const user = await signUp(app, 'ada@example.com')
  const chat = deps.store.chats.createChat(user.id as UserId, 'TITLE-MARKER-31')
  deps.store.db.query('UPDATE chat SET title = ? WHERE id = ?').run(new Uint8Array(40), chat.id)
  app.listen({ hostname: '127.0.0.1', port: 0 })
  const socket = await connect(`ws://127.0.0.1:${app.server!.port}/api/ws`, { token: user.token })
  try {
    socket.send({ type: 'chat:send', chatId: chat.id, model: 'any', content: 'hello' })
    const failed = await socket.nextFrame(ofType('error'))
    expect(failed).toMatchObject({ code: 'internal_error' })
    socket.send({ type: 'chat:cancel', messageId: 'live-unknown' })
    expect(await socket.nextFrame((frame) => frame.type === 'error' && frame.code === 'stream_not_found')).toBeDefined()
    expect(logLines.join('')).toContain('socket frame failed')
    expect(logLines.join('')).not.toContain('TITLE-MARKER-31')
  } finally {
    socket.ws.close()
    await app.stop(true)
  }
})
