import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { README, readmeWithTable } from '../scripts/config-table.ts'
import packageJson from '../package.json' with { type: 'json' }

const readme = readFileSync(README, 'utf8')

test('the README configuration table matches src/config/variables.ts (run: bun scripts/config-table.ts --write)', () => {
  expect(readme).toBe(readmeWithTable(readme))
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
