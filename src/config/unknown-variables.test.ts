import { describe, expect, test } from 'bun:test'
import { closestName } from './closest-name.ts'
import { describeUnknownVariables, findUnknownVariables } from './unknown-variables.ts'
import { variables } from './variables.ts'

describe('findUnknownVariables', () => {
  test('a typo of a known name gets its suggestion; known and unrelated names are left alone', () => {
    const found = findUnknownVariables(['OLAMA_BASE_URL', 'OLLAMA_BASE_URL', 'PORT', 'PATH', 'HOME', 'HOSTNAME', 'TERM', 'LANG', 'webui_name', 'GLOBAL_LOG_LEVLE'])
    expect(found.misspelt).toEqual([
      { name: 'OLAMA_BASE_URL', known: 'OLLAMA_BASE_URL' },
      { name: 'webui_name', known: 'WEBUI_NAME' },
      { name: 'GLOBAL_LOG_LEVLE', known: 'GLOBAL_LOG_LEVEL' },
    ])
    expect(found.unsupported).toEqual([])
  })

  test('other names with our prefixes are gathered, sorted, once each', () => {
    const found = findUnknownVariables(['ENABLE_RAG_WEB_SEARCH', 'OLLAMA_MODELS', 'RAG_TOP_K', 'OLLAMA_MODELS', 'USER_AGENT'])
    expect(found.unsupported).toEqual(['ENABLE_RAG_WEB_SEARCH', 'OLLAMA_MODELS', 'USER_AGENT'])
  })

  test('odd names (empty, punctuation, huge) are skipped', () => {
    expect(findUnknownVariables(['', 'A-B', '=', `OLLAMA_${'X'.repeat(10_000)}`, 'ÖLLAMA_BASE_URL'])).toEqual({ misspelt: [], unsupported: [] })
  })
})

describe('findUnknownVariables against closestName over every known name', () => {
  // The suggestion as it was computed before the length and character-count filters: closestName
  // over every known name (two edits for names of 8 characters or more, one for shorter ones).
  const known = Object.keys(variables)
  const reference = (name: string) => closestName(name, known.filter((k) => k.length >= 8), 2) ?? closestName(name, known.filter((k) => k.length < 8), 1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_'
  // note: a seeded generator, so a failure is the same on every run.
  let seed = 0x2545f491
  const random = (below: number) => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) % below
  }
  const edit = (name: string): string => {
    const at = random(name.length + 1)
    const letter = alphabet[random(alphabet.length)]!
    switch (random(4)) {
      case 0: return name.slice(0, at) + letter + name.slice(at + 1)
      case 1: return name.slice(0, at) + letter + name.slice(at)
      case 2: return name.slice(0, at) + name.slice(at + 1)
      default: return at + 1 < name.length ? name.slice(0, at) + name[at + 1] + name[at] + name.slice(at + 2) : name
    }
  }

  test('the same suggestion for 30,000 names within a few edits of known ones, and random ones', () => {
    const names: string[] = []
    for (let i = 0; i < 30_000; i++) {
      let name = random(10) === 0 ? Array.from({ length: 1 + random(20) }, () => alphabet[random(alphabet.length)]).join('') : known[random(known.length)]!
      for (let edits = random(4); edits > 0; edits--) name = edit(name)
      names.push(random(3) === 0 ? name.toLowerCase() : name)
    }
    let suggested = 0
    for (const name of names) {
      const found = findUnknownVariables([name]).misspelt[0]?.known ?? null
      const skipped = name in variables || !/^[A-Za-z][A-Za-z0-9_]{1,99}$/.test(name) || known.some((k) => 'otherName' in (variables as Record<string, object>)[k]! && ((variables as Record<string, { otherName?: { name: string } }>)[k]!.otherName?.name === name))
      expect({ name, found }).toEqual({ name, found: skipped ? null : reference(name) })
      if (found !== null) suggested++
    }
    // note: the generator reaches both answers often.
    expect(suggested).toBeGreaterThan(5_000)
    expect(suggested).toBeLessThan(names.length - 5_000)
  })
})

describe('describeUnknownVariables', () => {
  test('one warning per typo, one line for the rest, cut after 20 names', () => {
    const names = Array.from({ length: 25 }, (_, i) => `ENABLE_FEATURE_${String(i).padStart(2, '0')}`)
    const { warnings, notice } = describeUnknownVariables(findUnknownVariables(['OLAMA_BASE_URL', ...names]))
    expect(warnings).toEqual(['OLAMA_BASE_URL is set but is not a setting Enclave reads: did you mean OLLAMA_BASE_URL?'])
    expect(notice).toContain('ENABLE_FEATURE_00, ')
    expect(notice).toContain('ENABLE_FEATURE_19 and 5 more.')
    expect(notice).not.toContain('ENABLE_FEATURE_20')
  })

  test('nothing to say gives nothing', () => {
    expect(describeUnknownVariables({ misspelt: [], unsupported: [] })).toEqual({ warnings: [], notice: null })
  })
})
