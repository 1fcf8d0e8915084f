import { describe, expect, test } from 'bun:test'
import { parseTags } from './completion-background-tasks.ts'

describe('parseTags reads the model\'s {"tags": [...]}', () => {
  test('with text around it, as Open WebUI reads it (first { to last })', () => {
    expect(parseTags('Sure! {"tags": ["Science", "Tides"]} Hope that helps.')).toEqual(['Science', 'Tides'])
  })

  test('hostile output: control and format characters made spaces, long names cut, duplicates, "None", empty names and non-strings dropped, at most 10', () => {
    const names = ['a\u0000b\u202Ec', 'x'.repeat(500), 'dup', 'dup', 'None', '  ', 7, null, ...Array.from({ length: 20 }, (_, i) => `t${i}`)]
    const tags = parseTags(JSON.stringify({ tags: names }))
    expect(tags[0]).toBe('a b c')
    expect(tags[1]).toBe('x'.repeat(200))
    expect(tags.slice(2, 4)).toEqual(['dup', 't0'])
    expect(tags).toHaveLength(10)
  })

  test('anything else gives none', () => {
    for (const answer of ['', 'no json here', '{"tags": "one"}', '{"tags": [', '}{', '{"title": "x"}']) expect(parseTags(answer)).toEqual([])
  })
})
