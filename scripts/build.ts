/**
 * `npm run build`: bundles the UI, then compiles the server and the UI into one executable,
 * dist/enclave, that runs from any directory with nothing beside it.
 */
import { join } from 'node:path'
import { buildUi } from './build-ui.ts'
import { compileBinary, readCommit, root } from './compile-binary.ts'

const outfile = process.argv[2] ?? join(root, 'dist', 'enclave')

await buildUi()
if (!compileBinary({ outfile, commit: readCommit() })) process.exit(1)
console.log(`Built ${outfile}`)
