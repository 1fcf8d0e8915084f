/** A session's device in words, from its user agent: the browser and the system, nothing finer. */

/** "Firefox on Linux" from a user agent; the raw string stays in the title. */
export function describeDevice(agent: string | null): string {
  if (agent === null || agent === '') return 'Unknown device'
  const browser = /Edg\//.test(agent) ? 'Edge' : /OPR\//.test(agent) ? 'Opera' : /Firefox\//.test(agent) ? 'Firefox'
    : /Chrome\/|Chromium\//.test(agent) ? 'Chrome' : /Safari\//.test(agent) ? 'Safari' : /^curl\//.test(agent) ? 'curl' : null
  const system = /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS' : /Windows/.test(agent) ? 'Windows'
    : /Mac OS X|Macintosh/.test(agent) ? 'macOS' : /Linux|X11/.test(agent) ? 'Linux' : null
  if (browser === null) return agent.slice(0, 60)
  return system === null ? browser : `${browser} on ${system}`
}
