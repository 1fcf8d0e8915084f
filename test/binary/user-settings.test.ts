/**
 * The web page's and Conduit's settings and profile calls replayed against the compiled binary:
 * they answer as in-process, survive a restart, and nothing of them is readable in DATA_DIR.
 */
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'

const startApp = binaryAppStarter()

test('settings, info, profile image and banners through the binary, across a restart, sealed on disk', async () => {
  const { app, cwd, restart } = await startApp()
  const ada = await signUp(app, 'ada@example.com')
  const marker = 'SettingsMarker' + crypto.randomUUID().replace(/-/g, '')
  const image = 'data:image/png;base64,' + Buffer.from(marker + marker).toString('base64')
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await app.handle(req(method, path, body, bearer(ada.token)))
    expect(res.status).toBe(200)
    return res.json() as Promise<any>
  }
  await send('POST', '/api/v1/users/user/settings/update', { ui: { system: marker }, params: { reasoning_effort: 'high' } })
  await send('POST', '/api/v1/users/user/info/update', { location: marker })
  expect((await send('POST', '/api/v1/auths/update/profile', { name: 'Ada', profile_image_url: image })).profile_image_url).toBe(image)
  await send('POST', '/api/v1/configs/banners', { banners: [{ id: 'b', type: 'info', title: '', content: marker, dismissible: true, timestamp: 1 }] })

  await restart()
  expect((await send('GET', '/api/v1/users/user/settings')).ui.system).toBe(marker)
  // the web page posts only { ui }: the other top-level keys stay, as Open WebUI merges them
  await send('POST', '/api/v1/users/user/settings/update', { ui: { system: marker, models: ['llama3.2:1b'] } })
  expect(await send('GET', '/api/v1/users/user/settings')).toEqual({ ui: { system: marker, models: ['llama3.2:1b'] }, params: { reasoning_effort: 'high' } })
  expect((await send('GET', '/api/v1/users/user/info')).location).toBe(marker)
  expect((await send('GET', '/api/v1/auths/')).profile_image_url).toBe(image)
  expect((await send('GET', '/api/v1/configs/banners'))[0].content).toBe(marker)

  // the default picture every account starts with is an image, through the binary as in-process
  const picture = await app.handle(req('GET', '/user.png'))
  expect([picture.status, picture.headers.get('content-type')]).toEqual([200, 'image/png'])
  expect(Buffer.from(await picture.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG')

  const dataDir = join(cwd, 'data')
  for (const file of readdirSync(dataDir)) {
    const bytes = readFileSync(join(dataDir, file))
    expect(bytes.includes(Buffer.from(marker))).toBe(false)
    expect(bytes.includes(Buffer.from(image.slice(22, 60)))).toBe(false)
  }
}, 60_000)
