/**
 * Before and after, in the same run: bench/storage-figures.ts run in another source tree (the code
 * before a change, e.g. `git archive <commit> | tar -x -C /tmp/base`, npm ci and the UI built
 * there, this script's storage-figures.ts copied in) and in this one, interleaved round by round
 * (the order swapped every round), so a load that comes and goes on the machine weighs on both.
 * Prints a Markdown table: each row's median before and after, after/before of the medians, the
 * median of the per-round ratios, and the change for the worse (positive: worse).
 * Run: `bun bench/compare-trees.ts <base dir> [rounds] [parts...]`.
 */
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { median } from './measure.ts'

type Figure = { name: string; measured: number; better: 'lower' | 'higher' }

const [baseDir, roundsText, ...parts] = process.argv.slice(2)
if (baseDir === undefined) throw new Error('usage: bun bench/compare-trees.ts <base dir> [rounds] [parts...]')
const rounds = Number(roundsText ?? 3)
const here = join(import.meta.dir, '..')
copyFileSync(join(import.meta.dir, 'storage-figures.ts'), join(baseDir, 'bench', 'storage-figures.ts'))

async function figuresOf(tree: string): Promise<Figure[]> {
  const child = Bun.spawn(['bun', 'bench/storage-figures.ts', ...parts], { cwd: tree, stdout: 'pipe', stderr: 'inherit' })
  const out = await new Response(child.stdout).text()
  if ((await child.exited) !== 0) throw new Error(`storage-figures failed in ${tree}`)
  return JSON.parse(out.trim().split('\n').at(-1)!) as Figure[]
}

const before = new Map<string, number[]>()
const after = new Map<string, number[]>()
const better = new Map<string, Figure['better']>()
const order: string[] = []
const note = (into: Map<string, number[]>, figures: Figure[]) => {
  for (const figure of figures) {
    if (!better.has(figure.name)) order.push(figure.name)
    better.set(figure.name, figure.better)
    into.set(figure.name, [...(into.get(figure.name) ?? []), figure.measured])
  }
}
for (let round = 0; round < rounds; round++) {
  const pair = round % 2 === 0 ? [[baseDir, before], [here, after]] as const : [[here, after], [baseDir, before]] as const
  for (const [tree, into] of pair) note(into, await figuresOf(tree))
  console.error(`round ${round + 1} of ${rounds} done`)
}

const fmt = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(3))
const lines = ['| row | before (median) | after (median) | after/before | per-round ratio (median) | worse by |', '|---|---:|---:|---:|---:|---:|']
for (const name of order) {
  const b = before.get(name) ?? []
  const a = after.get(name) ?? []
  if (b.length === 0 || a.length === 0) {
    lines.push(`| ${name} | ${b.length === 0 ? '—' : fmt(median(b))} | ${a.length === 0 ? '—' : fmt(median(a))} | — | — | — |`)
    continue
  }
  const ratio = median(a) / median(b)
  const perRound = median(a.slice(0, b.length).map((value, i) => value / b[i]!))
  const worse = better.get(name) === 'lower' ? perRound - 1 : 1 / perRound - 1
  lines.push(`| ${name} | ${fmt(median(b))} | ${fmt(median(a))} | ${ratio.toFixed(2)} | ${perRound.toFixed(2)} | ${worse > 0 ? '+' : ''}${(worse * 100).toFixed(0)}% |`)
}
console.log(lines.join('\n'))
