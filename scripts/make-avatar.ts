/**
 * Draws static/user.png, the picture of a user who set none (served at /user.png, the default
 * `profile_image_url`, as Open WebUI's page serves its static/user.png): a light silhouette on grey,
 * 128x128, 4x4 supersampled. Run once when the drawing changes; the PNG is committed and embedded
 * by scripts/build-ui.ts.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { deflateSync } from 'node:zlib'

const SIZE = 128
const SAMPLES = 4
const BACKGROUND = [0xd4, 0xd4, 0xd8]
const FIGURE = [0xf4, 0xf4, 0xf5]

/** True where the figure is: the head (a circle) and the shoulders (the top of an ellipse). */
const isFigure = (x: number, y: number) =>
  (x - 64) ** 2 + (y - 48) ** 2 <= 24 ** 2 || (y <= 128 && ((x - 64) / 46) ** 2 + ((y - 124) / 42) ** 2 <= 1)

// note: Bun's CRC-32 is zlib's, the one PNG chunks carry.
const crc32 = (bytes: Uint8Array) => Bun.hash.crc32(bytes)
const chunk = (type: string, data: Uint8Array) => {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'ascii')
  Buffer.from(data).copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

const rows = Buffer.alloc(SIZE * (1 + SIZE * 3))
for (let y = 0; y < SIZE; y++) {
  const row = y * (1 + SIZE * 3)
  for (let x = 0; x < SIZE; x++) {
    let covered = 0
    for (let sy = 0; sy < SAMPLES; sy++) for (let sx = 0; sx < SAMPLES; sx++) if (isFigure(x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES)) covered++
    const share = covered / SAMPLES ** 2
    for (let c = 0; c < 3; c++) rows[row + 1 + x * 3 + c] = Math.round(BACKGROUND[c]! + (FIGURE[c]! - BACKGROUND[c]!) * share)
  }
}
const header = Buffer.alloc(13)
header.writeUInt32BE(SIZE, 0)
header.writeUInt32BE(SIZE, 4)
header.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, no interlace
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', new Uint8Array())])
writeFileSync(join(import.meta.dir, '..', 'static', 'user.png'), png)
console.log(`static/user.png: ${png.length} bytes`)
