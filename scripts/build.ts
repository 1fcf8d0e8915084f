/**
 * `npm run build`: bundles the UI, then compiles the server and the UI into one executable,
 * dist/enclave, that runs from any directory with nothing beside it. The binary reads .env itself
 * (src/config), so Bun's own .env and bunfig loading are switched off in it.
 */
import { join } from 'node:path'
import { buildUi } from './build-ui.ts'

const root = join(import.meta.dir, '..')
const outfile = process.argv[2] ?? join(root, 'dist', 'enclave')

await buildUi()
const compile = Bun.spawnSync([
  process.execPath, 'build', '--compile', '--minify',
  '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
  join(root, 'src', 'main.ts'), '--outfile', outfile,
], { cwd: root, stdout: 'inherit', stderr: 'inherit' })
if (compile.exitCode !== 0) process.exit(compile.exitCode ?? 1)
console.log(`Built ${outfile}`)
