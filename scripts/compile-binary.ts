/**
 * Compiles src/main.ts and the bundled UI (build/, from scripts/build-ui.ts) into one executable
 * for one Bun target, with the version's git commit baked in. The binary reads .env itself
 * (src/config), so Bun's own .env and bunfig loading are switched off in it.
 */
import { realpathSync } from 'node:fs'
import { join } from 'node:path'

export const root = join(import.meta.dir, '..')

/** JavaScriptCore's tier-up thresholds are multiplied by this until the server listens (src/cli/serve.ts resets them to 1). */
const START_JIT_POLICY = 16

/**
 * Returns the commit the source tree is at (12 hex digits, `-dirty` when tracked files changed),
 * ENCLAVE_COMMIT when set (a Docker build has no .git), or 'unknown' outside a git checkout.
 */
export function readCommit(dir = root): string {
  const fromEnvironment = process.env.ENCLAVE_COMMIT?.trim()
  if (fromEnvironment) return /^[0-9a-f]{7,40}(-dirty)?$/.test(fromEnvironment) ? fromEnvironment : 'unknown'
  const git = (args: string[]) => {
    try {
      const run = Bun.spawnSync(['git', '-C', dir, ...args], { stdout: 'pipe', stderr: 'ignore' })
      return run.exitCode === 0 ? run.stdout.toString().trim() : null
    } catch {
      return null // no git on this machine
    }
  }
  // note: a source tree copied inside some other repository must not take that repository's commit.
  const top = git(['rev-parse', '--show-toplevel'])
  if (top === null || realpathSync(top) !== realpathSync(dir)) return 'unknown'
  const commit = git(['rev-parse', '--short=12', 'HEAD'])
  if (commit === null || !/^[0-9a-f]{12}$/.test(commit)) return 'unknown'
  const changes = git(['status', '--porcelain', '--untracked-files=no'])
  return changes === null || changes === '' ? commit : `${commit}-dirty`
}

/**
 * Runs `bun build --compile` for `target` (e.g. bun-linux-arm64; the host's when omitted); true on
 * success. `bytecodeOrder` are the files scripts/record-bytecode-order.ts wrote, most common start
 * first (they serve every target).
 */
export function compileBinary(options: { outfile: string; commit: string; target?: string; bytecodeOrder?: readonly string[] }): boolean {
  const compile = Bun.spawnSync([
    // note: --bytecode ships the parsed bundle; without it parsing alone took ~100 ms of every start.
    // note: syntax only, never --minify: Elysia reads each handler's source text to learn which
    // context fields (path, query, server...) to fill, and compares error class names
    // ('TransformDecodeError'); renamed identifiers and joined lines made it drop `path` (500s on API
    // keys) and let `?page=-1` past t.Numeric's minimum. Costs ~0.6 MB and no start time.
    // note: ESM output, as bytecode for CommonJS failed on the extraction worker's pdf.js bundle.
    // note: --splitting puts each dynamically imported module graph in a chunk of its own, loaded
    // from the binary only when imported: a start no longer parses and maps the code of commands and
    // features it does not run (`enclave version` 24 -> 16 ms; idle RSS ~2 MB less).
    // note: the bytecode a start uses, laid out together at the front of the bundle (scripts/build.ts
    // records it), is read from fewer of the binary's pages: the bundle's resident pages 6.2 -> 2.7 MB,
    // idle RSS 69.9 -> 66.0-66.7 MB (same run). A first start (keys, migrations) gains nothing.
    // note: JIT tier-up thresholds x16 until serve's listen (Bun.unsafe.setJITPolicy(1) there): code that
    // runs only during a start (module bodies, route registration) is no longer compiled on the way.
    // Cold start p50 109 -> 82 ms wall, 90 -> 60 ms CPU; idle RSS 65.8-66.5 -> 63.8-64.1 MB (same run).
    process.execPath, 'build', '--compile', '--minify-syntax', '--bytecode', '--format=esm', '--splitting', `--compile-jit-policy=${START_JIT_POLICY}`,
    ...(options.bytecodeOrder === undefined ? [] : [`--bytecode-order=${options.bytecodeOrder.join(',')}`]),
    ...(options.target === undefined ? [] : [`--target=${options.target}`]),
    '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
    '--define', `ENCLAVE_COMMIT=${JSON.stringify(options.commit)}`,
    // note: the document extraction worker and the WAL checkpointer are entry points too, so `new Worker()` finds them in the binary.
    join(root, 'src', 'main.ts'), join(root, 'src', 'knowledge', 'extract-worker.ts'), join(root, 'src', 'db', 'wal-checkpoint-worker.ts'), '--outfile', options.outfile,
  ], { cwd: root, stdout: 'inherit', stderr: 'inherit' })
  return compile.exitCode === 0
}
