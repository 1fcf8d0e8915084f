import { expect, test } from 'bun:test'
import { fillPromptVariables } from './prompt-variables.ts'

const context = { now: new Date(2026, 0, 5, 14, 3, 9), userName: 'Ada', language: 'en-GB', timeZone: 'Europe/London', location: null, clipboard: 'copied {{USER_NAME}}' }

test('fills Open WebUI\'s variables and leaves unknown values and names as written', () => {
  expect(fillPromptVariables('{{CURRENT_DATE}} {{CURRENT_TIME}} | {{CURRENT_DATETIME}} | {{CURRENT_WEEKDAY}}', context)).toBe('2026-01-05 2:03:09 PM | 2026-01-05 2:03:09 PM | Monday')
  expect(fillPromptVariables('Hi {{USER_NAME}} ({{USER_LANGUAGE}}, {{CURRENT_TIMEZONE}}) at {{USER_LOCATION}} {{UNKNOWN}}', context)).toBe('Hi Ada (en-GB, Europe/London) at {{USER_LOCATION}} {{UNKNOWN}}')
  expect(fillPromptVariables('Clip: {{CLIPBOARD}}', context)).toBe('Clip: copied {{USER_NAME}}')
  expect(fillPromptVariables('{{CLIPBOARD}}', { ...context, clipboard: null })).toBe('{{CLIPBOARD}}')
})
