/** Runs a benchmark file in a fresh process, so it holds nothing the other benchmarks left behind. */

/** Runs `path` (a file that prints its figures as one JSON value), with `env` added to the environment, and returns what it printed. */
export async function runBenchApart<Figures>(path: string, label: string, env: Record<string, string> = {}): Promise<Figures> {
  const child = Bun.spawn([process.execPath, path], { stdout: 'pipe', stderr: 'inherit', env: { ...process.env, ...env } })
  const [said, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited])
  if (exitCode !== 0) throw new Error(`the ${label} benchmark failed (exit ${exitCode})`)
  return JSON.parse(said) as Figures
}
