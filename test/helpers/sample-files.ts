/**
 * Real files made by the tests: images a decoder accepts, text formats, Office containers and the
 * hostile ones (an executable, a zip bomb named .docx, SVG with a script, polyglots), plus a
 * multipart body written byte by byte, for names a FormData would escape.
 */
import { deflateSync } from 'node:zlib'

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (bytes: Uint8Array) => {
  let c = 0xffffffff
  for (const byte of bytes) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A valid PNG of `width` x `height` pixels of varied colour (its bytes differ per seed). */
export function makePng(width = 8, height = 8, seed = 1): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  const rows = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) for (let x = 0; x < width * 3; x++) rows[y * (width * 3 + 1) + 1 + x] = (x * 31 + y * 17 + seed * 101) & 0xff
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))])
}

/** The start of a baseline JPEG (SOI, JFIF APP0) followed by filler and EOI: what file-type recognises. */
export function makeJpeg(): Buffer {
  return Buffer.concat([
    Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'),
    Buffer.from('ffdb004300' + '08'.repeat(64), 'hex'),
    Buffer.alloc(200, 0x55),
    Buffer.from('ffd9', 'hex'),
  ])
}

/** A ZIP archive of the given entries; `deflate` compresses them (a bomb's large entry shrinks to almost nothing). */
export function makeZip(entries: { name: string; data: Uint8Array }[], deflate = false): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const entry of entries) {
    const name = Buffer.from(entry.name)
    const stored = deflate ? deflateSync(entry.data, { level: 9 }).subarray(2, -4) : Buffer.from(entry.data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(deflate ? 8 : 0, 8)
    local.writeUInt32LE(crc32(entry.data), 14)
    local.writeUInt32LE(stored.length, 18)
    local.writeUInt32LE(entry.data.length, 22)
    local.writeUInt16LE(name.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(deflate ? 8 : 0, 10)
    central.writeUInt32LE(crc32(entry.data), 16)
    central.writeUInt32LE(stored.length, 20)
    central.writeUInt32LE(entry.data.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, stored)
    centrals.push(central, name)
    offset += local.length + name.length + stored.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

/** A minimal DOCX: the OOXML container Word writes, with one paragraph of `text`. */
export function makeDocx(text: string): Buffer {
  const xml = (body: string) => Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${body}`)
  return makeZip([
    { name: '[Content_Types].xml', data: xml('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>') },
    { name: '_rels/.rels', data: xml('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>') },
    { name: 'word/document.xml', data: xml(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`) },
  ], true)
}

/** A zip bomb: a plain ZIP whose one entry inflates from a few kilobytes to `inflatedBytes` of zeros. */
export function makeZipBomb(inflatedBytes = 64 * 1024 * 1024): Buffer {
  return makeZip([{ name: 'word/document.xml', data: new Uint8Array(inflatedBytes) }], true)
}

/** The first bytes of an ELF executable (x86-64), padded: what `file` and file-type call an executable. */
export function makeElf(): Buffer {
  const bytes = Buffer.alloc(256)
  Buffer.from('7f454c46020101000000000000000000020003e0001000000', 'hex').copy(bytes)
  return bytes
}

/** The start of a Windows PE executable (MZ header pointing at a PE signature). */
export function makeWindowsExe(): Buffer {
  const bytes = Buffer.alloc(512)
  bytes.write('MZ', 0, 'latin1')
  bytes.writeUInt32LE(0x80, 0x3c)
  bytes.write('PE\0\0', 0x80, 'latin1')
  bytes.writeUInt16LE(0x14c, 0x84)
  return bytes
}

export const SVG_WITH_SCRIPT = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>'
export const HTML_PAGE = '<!DOCTYPE html><html><body><script>fetch("/api/v1/auths/").then(r=>r.text()).then(alert)</script></body></html>'
/** A GIF header followed by HTML: a polyglot a sniffing browser might run as a page. */
export const GIF_HTML_POLYGLOT = Buffer.concat([Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), Buffer.from('<html><script>alert(1)</script></html>')])

/** A multipart/form-data body written by hand: `filename` is sent byte for byte, as no FormData would. */
export function rawMultipart(filename: string, content: Uint8Array, extra: { name: string; value: string }[] = []): { body: Buffer; contentType: string } {
  const boundary = `----enclave${crypto.randomUUID()}`
  const parts: Buffer[] = [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    Buffer.from(content),
  ]
  for (const field of extra) parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="${field.name}"\r\n\r\n${field.value}`))
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}
