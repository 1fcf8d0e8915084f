/**
 * Timing for the benchmark: warm up, repeat, keep the median, so one slow repetition (a GC pause,
 * a WAL checkpoint, a noisy neighbour) does not move the figure.
 */

/** Returns a monotonic time in milliseconds, with nanosecond resolution. */
export function nowMs(): number {
  return Bun.nanoseconds() / 1e6
}

/** Returns how many milliseconds one call of `run` takes. */
export function timeOnceMs(run: () => void): number {
  const start = nowMs()
  run()
  return nowMs() - start
}

/** Returns the median of the values; NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export type Repetitions = { warmups: number; repetitions: number }

/** Runs `run` untimed `warmups` times, then timed `repetitions` times; returns the median milliseconds per run. */
export function medianMs(run: () => void, { warmups, repetitions }: Repetitions): number {
  for (let i = 0; i < warmups; i++) run()
  const times: number[] = []
  for (let i = 0; i < repetitions; i++) times.push(timeOnceMs(run))
  return median(times)
}

/**
 * Times several contenders in alternation (A, B, A, B, ...), so a change of CPU clock during the
 * run slows each alike; returns each one's median milliseconds per run, in the order given.
 */
export function medianMsInterleaved(runs: readonly (() => void)[], { warmups, repetitions }: Repetitions): number[] {
  for (let i = 0; i < warmups; i++) for (const run of runs) run()
  const times = runs.map((): number[] => [])
  for (let i = 0; i < repetitions; i++) runs.forEach((run, index) => times[index]!.push(timeOnceMs(run)))
  return times.map(median)
}

/** medianMsInterleaved for runs that must be awaited (an async decision in a loop). */
export async function medianMsInterleavedAsync(runs: readonly (() => Promise<void>)[], { warmups, repetitions }: Repetitions): Promise<number[]> {
  for (let i = 0; i < warmups; i++) for (const run of runs) await run()
  const times = runs.map((): number[] => [])
  for (let i = 0; i < repetitions; i++) {
    for (const [index, run] of runs.entries()) {
      const start = nowMs()
      await run()
      times[index]!.push(nowMs() - start)
    }
  }
  return times.map(median)
}

/**
 * Times contenders in alternation like medianMsInterleaved, and also returns the median of each
 * contender's time over the first's within the same round: a ratio that a change of load between
 * rounds moves less than the ratio of the medians does.
 */
export function pairedInterleaved(runs: readonly (() => void)[], { warmups, repetitions }: Repetitions): { medianMs: number[]; ratioToFirst: number[] } {
  for (let i = 0; i < warmups; i++) for (const run of runs) run()
  const times = runs.map((): number[] => [])
  for (let i = 0; i < repetitions; i++) runs.forEach((run, index) => times[index]!.push(timeOnceMs(run)))
  return {
    medianMs: times.map(median),
    ratioToFirst: times.map((own) => median(own.map((ms, round) => ms / times[0]![round]!))),
  }
}

/** Returns how many milliseconds one awaited call of `run` takes. */
export async function timeOnceMsAsync(run: () => Promise<unknown>): Promise<number> {
  const start = nowMs()
  await run()
  return nowMs() - start
}

/** medianMs for a run that returns a promise: each run awaited before the next starts. */
export async function medianMsAsync(run: () => Promise<unknown>, { warmups, repetitions }: Repetitions): Promise<number> {
  for (let i = 0; i < warmups; i++) await run()
  const times: number[] = []
  for (let i = 0; i < repetitions; i++) times.push(await timeOnceMsAsync(run))
  return median(times)
}
