/**
 * "Did you mean": the known name closest to a mistyped one, by edit distance (insertions,
 * deletions, substitutions and swaps of neighbours), for unknown variables, commands and flags.
 */

/** Returns the candidate nearest to `input` within `maxDistance` edits (case-insensitive), or null. */
export function closestName(input: string, candidates: Iterable<string>, maxDistance: number): string | null {
  const upper = input.toUpperCase()
  let best: { name: string; distance: number } | null = null
  for (const name of candidates) {
    const distance = editDistance(upper, name.toUpperCase(), maxDistance)
    if (distance <= maxDistance && (best === null || distance < best.distance)) best = { name, distance }
  }
  return best?.name ?? null
}

/** Longer names are cut to this many characters, so a hostile argument stays cheap. */
const MAX_LENGTH = 100

/**
 * The optimal string alignment distance: a swap of two neighbouring letters counts as one edit.
 * With `atMost`, any distance above it comes back as atMost + 1, and only the cells within atMost
 * of the diagonal are worked out: a start compares every variable of the environment with every
 * known name, and at full cost that took tens of milliseconds.
 */
export function editDistance(a: string, b: string, atMost = MAX_LENGTH): number {
  // note: the inputs are names (a few dozen characters); longer ones are cut so a hostile argument stays cheap.
  const [s, t] = [a.slice(0, MAX_LENGTH), b.slice(0, MAX_LENGTH)]
  const cap = Math.min(atMost, MAX_LENGTH) + 1
  if (Math.abs(s.length - t.length) >= cap) return cap
  // note: one flat table, row i at i * width; a cell outside the band keeps `cap`, which its true value (at least |i - j|) exceeds.
  const width = t.length + 1
  const rows = new Uint16Array((s.length + 1) * width).fill(cap)
  for (let j = 0; j < Math.min(width, cap); j++) rows[j] = j
  for (let i = 1; i <= s.length; i++) {
    if (i < cap) rows[i * width] = i
    let rowLeast = rows[i * width]!
    for (let j = Math.max(1, i - cap + 1); j <= Math.min(t.length, i + cap - 1); j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let distance = Math.min(rows[(i - 1) * width + j]! + 1, rows[i * width + j - 1]! + 1, rows[(i - 1) * width + j - 1]! + cost, cap)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) distance = Math.min(distance, rows[(i - 2) * width + j - 2]! + 1)
      rows[i * width + j] = distance
      rowLeast = Math.min(rowLeast, distance)
    }
    // note: a row wholly over the bound leaves every later one over it too.
    if (rowLeast >= cap) return cap
  }
  return rows[s.length * width + t.length]!
}
