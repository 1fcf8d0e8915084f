/**
 * `npm run release [DIR]`: cross-compiles Enclave for every supported platform into DIR (default
 * dist/), as enclave-<os>-<arch>[.exe], and writes DIR/SHA256SUMS in `sha256sum -c` format. Bun
 * fetches the other platforms' runtimes from the npm registry (@oven/bun-<os>-<arch>) the first time.
 * A binary for this machine is compiled first and its start recorded (scripts/record-bytecode-order.ts);
 * every platform's bundle is laid out by that one recording.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { buildUi } from './build-ui.ts'
import { compileBinary, readCommit, root } from './compile-binary.ts'
import { recordBytecodeOrder } from './record-bytecode-order.ts'

/** Release platforms: the file name suffix and Bun's --target for each. */
const RELEASE_TARGETS = [
  { name: 'linux-x64', target: 'bun-linux-x64' },
  { name: 'linux-arm64', target: 'bun-linux-arm64' },
  { name: 'darwin-arm64', target: 'bun-darwin-arm64' },
  { name: 'darwin-x64', target: 'bun-darwin-x64' },
  { name: 'windows-x64', target: 'bun-windows-x64' },
] as const

const outDir = process.argv[2] ?? join(root, 'dist')
mkdirSync(outDir, { recursive: true })
await buildUi()
const commit = readCommit()

const hostDir = mkdtempSync(join(tmpdir(), 'enclave-release-'))
const hostBinary = join(hostDir, 'enclave')
const order = compileBinary({ outfile: hostBinary, commit }) ? await recordBytecodeOrder(hostBinary) : null
rmSync(hostDir, { recursive: true, force: true })
if (order === null) {
  console.error('release: could not record a start of this machine\'s binary for the bytecode order')
  process.exit(1)
}

const sums: string[] = []
for (const { name, target } of RELEASE_TARGETS) {
  const outfile = join(outDir, `enclave-${name}${name.startsWith('windows') ? '.exe' : ''}`)
  if (!compileBinary({ outfile, commit, target, bytecodeOrder: order.paths })) {
    console.error(`release: compiling for ${target} failed`)
    process.exit(1)
  }
  const hash = new Bun.CryptoHasher('sha256').update(await Bun.file(outfile).arrayBuffer()).digest('hex')
  sums.push(`${hash}  ${basename(outfile)}\n`)
}
order.remove()
await Bun.write(join(outDir, 'SHA256SUMS'), sums.join(''))
console.log(`Released ${RELEASE_TARGETS.length} binaries (commit ${commit}) and SHA256SUMS into ${outDir}`)
