/**
 * `npm run build`: bundles the UI, then compiles the server and the UI into one executable,
 * dist/enclave, that runs from any directory with nothing beside it. It compiles twice: the first
 * binary's start is recorded (scripts/record-bytecode-order.ts), and the second lays its bundle out
 * by what that start used.
 */
import { join } from 'node:path'
import { buildUi } from './build-ui.ts'
import { compileBinary, readCommit, root } from './compile-binary.ts'
import { recordBytecodeOrder } from './record-bytecode-order.ts'

const outfile = process.argv[2] ?? join(root, 'dist', 'enclave')

await buildUi()
const commit = readCommit()
if (!compileBinary({ outfile, commit })) process.exit(1)
const order = await recordBytecodeOrder(outfile)
if (order === null) {
  // note: the first binary works as it is, only with a larger idle footprint; say so rather than fail.
  console.warn(`Could not record a start of ${outfile}: kept it without a bytecode order (idle memory ~4 MB higher).`)
} else {
  try {
    if (!compileBinary({ outfile, commit, bytecodeOrder: order.paths })) process.exit(1)
  } finally {
    order.remove()
  }
}
console.log(`Built ${outfile}`)
