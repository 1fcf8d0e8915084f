/**
 * Helper process for bench/socket-streaming.ts: opens N authenticated, idle sockets to /api/ws and
 * holds them until its stdin closes, so the server's memory per socket is measured without the
 * client's own WebSocket objects in the same heap. Usage: bun bench/socket-idle-client.ts URL TOKEN N
 */
const [url, token, countText] = process.argv.slice(2)
if (url === undefined || token === undefined || countText === undefined) throw new Error('usage: socket-idle-client.ts URL TOKEN N')
const count = Number(countText)
const sockets: WebSocket[] = []
const BATCH = 100
for (let start = 0; start < count; start += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, count - start) }, () => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, ['enclave', token])
    ws.onopen = () => resolve(ws)
    ws.onerror = () => reject(new Error('idle socket failed to open'))
  }))
  sockets.push(...(await Promise.all(batch)))
}
console.log(`open ${sockets.length}`)
await Bun.stdin.text() // note: held open until the parent closes stdin
for (const ws of sockets) ws.close()
process.exit(0)

export {}
