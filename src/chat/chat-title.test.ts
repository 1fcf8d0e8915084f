import { describe, expect, test } from 'bun:test'
import { buildTitlePrompt, DEFAULT_TITLE_TEMPLATE, MAX_TITLE_LENGTH, parseTitleAnswer } from './chat-title.ts'

const conversation = [
  { role: 'user', content: 'Why is the sky blue?' },
  { role: 'assistant', content: 'Rayleigh scattering.' },
  { role: 'user', content: 'And at sunset?' },
  { role: 'assistant', content: 'Longer path, so red.' },
]

describe('buildTitlePrompt', () => {
  test('the default template holds the last two messages, labelled', () => {
    const prompt = buildTitlePrompt(DEFAULT_TITLE_TEMPLATE, conversation)
    expect(prompt).toContain('USER: And at sunset?\nASSISTANT: Longer path, so red.')
    expect(prompt).not.toContain('Why is the sky blue?')
    expect(prompt).not.toContain('{{')
  })

  test.each([
    ['{{MESSAGES}}', 4],
    ['{{MESSAGES:START:1}}', 1],
    ['{{MESSAGES:END:3}}', 3],
    ['{{MESSAGES:MIDDLETRUNCATE:2}}', 2],
  ])('%s picks %i messages', (template, count) => {
    expect(buildTitlePrompt(template, conversation).split('\n')).toHaveLength(count)
  })

  test('prompt placeholders take the first user message, whole or cut', () => {
    expect(buildTitlePrompt('[{{prompt}}]', conversation)).toBe('[Why is the sky blue?]')
    expect(buildTitlePrompt('[{{prompt:start:3}}]', conversation)).toBe('[Why]')
    expect(buildTitlePrompt('[{{prompt:end:5}}]', conversation)).toBe('[blue?]')
    expect(buildTitlePrompt('[{{prompt:middletruncate:6}}]', conversation)).toBe('[Why…ue?]')
  })

  test('a huge message is cut in the prompt', () => {
    const prompt = buildTitlePrompt('{{MESSAGES}}', [{ role: 'user', content: 'x'.repeat(1_000_000) }])
    expect(prompt.length).toBeLessThan(2_100)
  })

  test('placeholders inside messages are not expanded again', () => {
    expect(buildTitlePrompt('{{MESSAGES:END:1}}', [{ role: 'user', content: '{{prompt}}' }])).toBe('USER: {{prompt}}')
  })
})

describe('parseTitleAnswer', () => {
  test.each([
    ['{"title": "Blue skies explained"}', 'Blue skies explained'],
    ['Sure! ```json\n{"title": "Sky colour"}\n```', 'Sky colour'],
    ['"Sunset physics"', 'Sunset physics'],
    ['  ## Sunset physics  \nmore text', 'Sunset physics'],
    ['{"title": "Line one\\nline two"}', 'Line one'],
    ['Tab\tand\u0000null\u202Eoverride', 'Tab and null override'],
    ['{not json', '{not json'],
  ])('%p → %p', (answer, title) => {
    expect(parseTitleAnswer(answer)).toBe(title)
  })

  test.each(['', '   ', '{"title": ""}', '""', '\n\n'])('nothing usable in %p', (answer) => {
    expect(parseTitleAnswer(answer)).toBeNull()
  })

  test('a long answer is cut to the longest title, by characters not bytes', () => {
    const title = parseTitleAnswer('🛡️'.repeat(200))!
    expect([...title].length).toBeLessThanOrEqual(MAX_TITLE_LENGTH)
    expect(title.isWellFormed()).toBe(true)
  })
})
