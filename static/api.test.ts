import { describe, expect, test } from 'bun:test'
import { ApiError, describeError, formatWait } from './api.ts'

describe('formatWait', () => {
  test.each([[1, '1 second'], [42, '42 seconds'], [89, '89 seconds'], [90, '2 minutes'], [180, '3 minutes'], [181, '4 minutes']])('%i s reads %p', (seconds, text) => {
    expect(formatWait(seconds)).toBe(text)
  })
})

describe('describeError', () => {
  test('a rate limit says how long to wait', () => {
    expect(describeError(new ApiError(429, 'rate_limited', 'Too many.', 30))).toBe('Too many attempts. Please wait 30 seconds and try again.')
  })
  test('a refusal shows the server\'s own sentence', () => {
    expect(describeError(new ApiError(400, 'invalid_credentials', 'The email or password provided is incorrect.'))).toBe('The email or password provided is incorrect.')
  })
  test('a 429 without Retry-After falls back to the server\'s sentence', () => {
    expect(describeError(new ApiError(429, 'rate_limited', 'Slow down.'))).toBe('Slow down.')
  })
  test('anything else is a fixed sentence, never the error\'s own text', () => {
    expect(describeError(new Error('stack trace with secrets'))).toBe('Something went wrong. Please try again.')
  })
})
