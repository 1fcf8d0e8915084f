import { expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { CONFIG_DOC, docWithTable } from '../scripts/config-table.ts'
import packageJson from '../package.json' with { type: 'json' }

const root = join(import.meta.dir, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
/** README.md and every Markdown file under docs/. */
const documents = [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join(root, 'docs', name))]

test('the configuration table in docs/configuration.md matches src/config/variables.ts (run: bun scripts/config-table.ts --write)', () => {
  const doc = readFileSync(CONFIG_DOC, 'utf8')
  expect(doc).toBe(docWithTable(doc))
})

test('the README quick start and test commands are the package scripts CI runs', () => {
  expect(readme).toContain('npm ci && npm start')
  expect(readme).toContain('npm test')
  expect(packageJson.scripts.start).toBeDefined()
  expect(packageJson.scripts.test).toBeDefined()
  expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toContain('npm test')
})

test('Bun is pinned to an exact 1.4.x as a devDependency', () => {
  expect(packageJson.devDependencies.bun).toMatch(/^1\.4\.\d+$/)
})

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  let isInFence = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) isInFence = !isInFence
    const heading = isInFence ? null : /^#{1,6}\s+(.+?)\s*#*$/.exec(line)
    if (heading === null) continue
    const base = heading[1]!.toLowerCase().replace(/<[^>]+>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    anchors.add(count === 0 ? base : `${base}-${count}`)
  }
  return anchors
}

/** Every relative link target in a Markdown file (outside code), with its line. */
function relativeLinksOf(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = []
  let isInFence = false
  markdown.split('\n').forEach((text, index) => {
    if (text.startsWith('```')) isInFence = !isInFence
    if (isInFence) return
    const withoutCode = text.replace(/`[^`]*`/g, '')
    for (const match of withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line: index + 1 })
    }
  })
  return links
}

test('the docs exist: README.md and at least the topics it links to', () => {
  expect(documents.length).toBeGreaterThan(10)
  expect(readme.split('\n').length).toBeLessThan(250)
})

test.each(documents.map((path) => [relative(root, path), path]))('every relative link in %s resolves, files and #anchors', (_, path) => {
  const broken: string[] = []
  for (const { target, line } of relativeLinksOf(readFileSync(path, 'utf8'))) {
    const [file, anchor] = target.split('#') as [string, string | undefined]
    const resolved = file === '' ? path : resolve(dirname(path), decodeURIComponent(file))
    if (!existsSync(resolved)) {
      broken.push(`line ${line}: ${target} (no such file)`)
      continue
    }
    if (anchor !== undefined && anchor !== '' && (statSync(resolved).isDirectory() || !resolved.endsWith('.md') || !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor))) {
      broken.push(`line ${line}: ${target} (no such heading)`)
    }
  }
  expect(broken).toEqual([])
})

test('the anchor rule follows GitHub: punctuation dropped, repeats numbered', () => {
  expect([...anchorsOf('# Running as a service (systemd)\n## Streaming chat over WebSocket: `/api/ws`\n## Commands\n## Commands')])
    .toEqual(['running-as-a-service-systemd', 'streaming-chat-over-websocket-apiws', 'commands', 'commands-1'])
})
