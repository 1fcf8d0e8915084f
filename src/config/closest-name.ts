/**
 * "Did you mean": the known name closest to a mistyped one, by edit distance (insertions,
 * deletions, substitutions and swaps of neighbours), for unknown variables, commands and flags.
 */

/** Returns the candidate nearest to `input` within `maxDistance` edits (case-insensitive), or null. */
export function closestName(input: string, candidates: Iterable<string>, maxDistance: number): string | null {
  let best: { name: string; distance: number } | null = null
  for (const name of candidates) {
    const distance = editDistance(input.toUpperCase(), name.toUpperCase())
    if (distance <= maxDistance && (best === null || distance < best.distance)) best = { name, distance }
  }
  return best?.name ?? null
}

/** The optimal string alignment distance: a swap of two neighbouring letters counts as one edit. */
export function editDistance(a: string, b: string): number {
  // note: the inputs are names (a few dozen characters); longer ones are cut so a hostile argument stays cheap.
  const [s, t] = [a.slice(0, 100), b.slice(0, 100)]
  const rows = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      rows[i]![j] = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) rows[i]![j] = Math.min(rows[i]![j]!, rows[i - 2]![j - 2]! + 1)
    }
  }
  return rows[s.length]![t.length]!
}
