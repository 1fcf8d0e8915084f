/**
 * `npm run release`: five platforms cross-compiled into one directory with SHA256SUMS, version and
 * commit baked in. The linux-x64 binary is started; the others are checked by their headers.
 * Bun fetches the other platforms' runtimes once from the npm registry, hence the long timeout.
 */
import { describe, expect, test } from 'bun:test'
import { cpSync, readdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import packageJson from '../../package.json' with { type: 'json' }
import { executableFormat } from '../helpers/executable-format.ts'
import { runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const root = join(import.meta.dir, '..', '..')
const tempDir = tempDirsRemovedAfterAll()

const expectedFormats = {
  'enclave-linux-x64': ['elf-x86_64', /ELF 64-bit LSB .*x86-64/],
  'enclave-linux-arm64': ['elf-aarch64', /ELF 64-bit LSB .*ARM aarch64/],
  'enclave-darwin-arm64': ['macho-arm64', /Mach-O 64-bit arm64 executable/],
  'enclave-darwin-x64': ['macho-x86_64', /Mach-O 64-bit x86_64 executable/],
  'enclave-windows-x64.exe': ['pe32+-x86_64', /PE32\+ executable \(console\) x86-64/],
} as const

const sh = (command: string[], cwd = root) => {
  const run = Bun.spawnSync(command, { cwd, stdout: 'pipe', stderr: 'pipe' })
  return { code: run.exitCode, out: run.stdout.toString() + run.stderr.toString() }
}

describe('npm run release', () => {
  const outDir = tempDir()
  let released: { code: number; out: string } = { code: -1, out: '' }

  test('builds every platform and SHA256SUMS', () => {
    released = sh([process.execPath, 'scripts/release.ts', outDir])
    expect(released.code).toBe(0)
    expect(readdirSync(outDir).sort()).toEqual([...Object.keys(expectedFormats), 'SHA256SUMS'].sort())
  }, 600_000)

  test('SHA256SUMS lists each binary once with its hash, and sha256sum -c agrees', async () => {
    const lines = (await Bun.file(join(outDir, 'SHA256SUMS')).text()).trimEnd().split('\n')
    expect(lines.map((line) => line.split('  ')[1]).sort()).toEqual(Object.keys(expectedFormats).sort())
    for (const line of lines) {
      const [hash, name] = line.split('  ') as [string, string]
      const actual = new Bun.CryptoHasher('sha256').update(await Bun.file(join(outDir, name)).arrayBuffer()).digest('hex')
      expect(hash).toBe(actual)
    }
    expect(sh(['sha256sum', '--check', '--strict', 'SHA256SUMS'], outDir).code).toBe(0)
  }, 60_000)

  test.each(Object.entries(expectedFormats))('%s has the right format', async (name, [format, fileSays]) => {
    const header = new Uint8Array(await Bun.file(join(outDir, name)).slice(0, 4096).arrayBuffer())
    expect(executableFormat(header)).toBe(format)
    // A second opinion from file(1).
    expect(sh(['file', '--brief', join(outDir, name)]).out).toMatch(fileSays)
  })

  test('the linux-x64 binary prints its version and commit, and serves /health', async () => {
    const binary = join(outDir, 'enclave-linux-x64')
    const head = sh(['git', 'rev-parse', '--short=12', 'HEAD']).out.trim()
    const version = await runBinary(['--version'], { cwd: tempDir(), binary })
    expect(version.stdout).toMatch(new RegExp(`^enclave ${packageJson.version.replaceAll('.', '\\.')} \\(commit ${head}(-dirty)?\\)\\n$`))
    expect(released.out).toContain(`commit ${head}`)
    const server = await startBinary({ cwd: tempDir(), binary })
    try {
      expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: true })
    } finally {
      expect(await server.stop()).toBe(0)
    }
  }, 30_000)
})

describe('a build outside a git checkout', () => {
  const tree = tempDir()
  for (const entry of ['package.json', 'bunfig.toml', 'tsconfig.json', 'src', 'static', 'scripts']) cpSync(join(root, entry), join(tree, entry), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'))

  test('still builds, and says the commit is unknown', async () => {
    const outfile = join(tree, 'out', 'enclave')
    const built = sh([process.execPath, 'scripts/build.ts', outfile], tree)
    expect(built.code).toBe(0)
    expect((await runBinary(['--version'], { cwd: tree, binary: outfile })).stdout).toBe(`enclave ${packageJson.version} (commit unknown)\n`)
  }, 120_000)

  test.each([
    ['a commit from the environment (Docker builds)', '0123456789ab', '0123456789ab'],
    ['a hostile value in the environment', '"; process.exit(3); "', 'unknown'],
    ['an oversized value in the environment', 'a'.repeat(10_000), 'unknown'],
  ])('%s', async (_, given, shown) => {
    const outfile = join(tree, 'out', 'enclave-env')
    const built = Bun.spawnSync([process.execPath, 'scripts/build.ts', outfile], { cwd: tree, env: { ...process.env, ENCLAVE_COMMIT: given }, stdout: 'ignore', stderr: 'pipe' })
    expect(built.exitCode).toBe(0)
    expect((await runBinary(['--version'], { cwd: tree, binary: outfile })).stdout).toBe(`enclave ${packageJson.version} (commit ${shown})\n`)
  }, 120_000)
})
