/**
 * The fast first pass of a search: every row of an index quantised to int8 (each row scaled so its
 * largest value is ±127), scanned against the quantised question by a small WebAssembly function
 * using 128-bit SIMD (16 dimensions a step, i32x4.dot_i16x8_s). A quarter of the float32 bytes go
 * through the memory bus, which bounds a brute-force scan. The candidates it ranks first are then
 * scored exactly in float32 (vector-index.ts), so what is returned and its scores are exact.
 *
 * The function, hand-assembled below: dots(rows_ptr, query_ptr, row_count, dims, out_ptr) writes
 * for each row the int32 dot product of its `dims` int8 values with the query's `dims` int16
 * values; `dims` is a multiple of 16 (rows are padded with zeros).
 */

// prettier-ignore
const DOTS_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x09, 0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, // type: (i32 x5) -> ()
  0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01, // import env.memory
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x07, 0x08, 0x01, 0x04, 0x64, 0x6f, 0x74, 0x73, 0x00, 0x00, // export "dots"
])

const body = [
  0x02, 0x03, 0x7f, 0x02, 0x7b, // locals: 5 r, 6 j, 7 rowPtr (i32); 8 acc, 9 v (v128)
  0x20, 0x00, 0x21, 0x07, // rowPtr = rows_ptr
  0x02, 0x40, // block
  0x03, 0x40, // loop (rows)
  0x20, 0x05, 0x20, 0x02, 0x4f, 0x0d, 0x01, // if r >= row_count: break
  0xfd, 0x0c, ...new Array(16).fill(0), 0x21, 0x08, // acc = 0
  0x41, 0x00, 0x21, 0x06, // j = 0
  0x03, 0x40, // loop (dims)
  0x20, 0x07, 0x20, 0x06, 0x6a, 0xfd, 0x00, 0x00, 0x00, 0x21, 0x09, // v = load(rowPtr + j)
  0x20, 0x08, 0x20, 0x09, 0xfd, 0x87, 0x01, // acc, extend_low(v)
  0x20, 0x01, 0x20, 0x06, 0x41, 0x01, 0x74, 0x6a, 0xfd, 0x00, 0x00, 0x00, // load(query + 2j)
  0xfd, 0xba, 0x01, 0xfd, 0xae, 0x01, 0x21, 0x08, // acc += dot
  0x20, 0x08, 0x20, 0x09, 0xfd, 0x88, 0x01, // acc, extend_high(v)
  0x20, 0x01, 0x20, 0x06, 0x41, 0x01, 0x74, 0x6a, 0xfd, 0x00, 0x00, 0x10, // load(query + 2j + 16)
  0xfd, 0xba, 0x01, 0xfd, 0xae, 0x01, 0x21, 0x08, // acc += dot
  0x20, 0x06, 0x41, 0x10, 0x6a, 0x22, 0x06, // j += 16
  0x20, 0x03, 0x49, 0x0d, 0x00, // continue while j < dims
  0x0b, // end loop (dims)
  0x20, 0x04, 0x20, 0x05, 0x41, 0x02, 0x74, 0x6a, // out + 4r
  0x20, 0x08, 0xfd, 0x1b, 0x00, 0x20, 0x08, 0xfd, 0x1b, 0x01, 0x6a, 0x20, 0x08, 0xfd, 0x1b, 0x02, 0x6a, 0x20, 0x08, 0xfd, 0x1b, 0x03, 0x6a, // sum of lanes
  0x36, 0x02, 0x00, // store
  0x20, 0x07, 0x20, 0x03, 0x6a, 0x21, 0x07, // rowPtr += dims
  0x20, 0x05, 0x41, 0x01, 0x6a, 0x21, 0x05, // r += 1
  0x0c, 0x00, // next row
  0x0b, 0x0b, 0x0b, // end loop, block, function
]

let compiled: WebAssembly.Module | null = null
function dotsModule(): WebAssembly.Module {
  if (compiled === null) {
    const code = [0x01, ...leb128(body.length), ...body]
    compiled = new WebAssembly.Module(new Uint8Array([...DOTS_WASM, 0x0a, ...leb128(code.length), ...code]))
  }
  return compiled
}

function leb128(value: number): number[] {
  const bytes: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value !== 0) byte |= 0x80
    bytes.push(byte)
  } while (value !== 0)
  return bytes
}

/** A quantised copy of an index's rows in WebAssembly memory, with its scan. */
export type Int8Scan = { bytes: number; scan(query: Float32Array): Float32Array }

const PAGE = 65_536

/** Quantises `rows` rows of `dimensions` floats and prepares the scan, whose scores approximate the cosine similarity. */
export function createInt8Scan(matrix: Float32Array, rows: number, dimensions: number): Int8Scan {
  const stride = Math.ceil(dimensions / 16) * 16
  const rowsBytes = rows * stride
  const queryAt = Math.ceil(rowsBytes / 16) * 16
  const outAt = queryAt + stride * 2
  const total = outAt + rows * 4
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(total / PAGE)) })
  const dots = new WebAssembly.Instance(dotsModule(), { env: { memory } }).exports.dots as (rowsPtr: number, queryPtr: number, count: number, dims: number, out: number) => void
  const quantised = new Int8Array(memory.buffer, 0, rowsBytes)
  // note: each row scaled to its own largest value (±127); the scale multiplies its score back.
  const scales = new Float32Array(rows)
  for (let row = 0; row < rows; row++) {
    let largest = 0
    for (let i = 0; i < dimensions; i++) largest = Math.max(largest, Math.abs(matrix[row * dimensions + i]!))
    const factor = largest === 0 ? 0 : 127 / largest
    scales[row] = largest / 127
    for (let i = 0; i < dimensions; i++) quantised[row * stride + i] = Math.round(matrix[row * dimensions + i]! * factor)
  }
  const query16 = new Int16Array(memory.buffer, queryAt, stride)
  const out = new Int32Array(memory.buffer, outAt, rows)
  const scores = new Float32Array(rows)
  return {
    bytes: memory.buffer.byteLength + scales.byteLength + scores.byteLength,
    scan(query) {
      // note: ±8191 keeps a row's whole sum (dims × 127 × 8191) within int32 for up to 2,000 dimensions.
      let largest = 0
      for (let i = 0; i < dimensions; i++) largest = Math.max(largest, Math.abs(query[i]!))
      const factor = largest === 0 ? 0 : 8191 / largest
      for (let i = 0; i < dimensions; i++) query16[i] = Math.round(query[i]! * factor)
      dots(0, queryAt, rows, stride, outAt)
      const unscale = factor === 0 ? 0 : 1 / factor
      for (let row = 0; row < rows; row++) scores[row] = out[row]! * scales[row]! * unscale
      return scores
    },
  }
}
