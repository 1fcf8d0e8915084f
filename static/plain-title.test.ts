import { describe, expect, test } from 'bun:test'
import { plainTitle } from './plain-title.ts'

describe('plainTitle', () => {
  test.each([
    ['Quokka facts', 'Quokka facts'],
    ['**Quokka** facts', 'Quokka facts'],
    ['# A heading title', 'A heading title'],
    ['### `code` in a title', 'code in a title'],
    ['*Emphasis* and __strong__', 'Emphasis and strong'],
    ['[A link](https://example.org) here', 'A link here'],
    ['~~gone~~ kept', 'gone kept'],
    ['- listed', 'listed'],
    ['1. numbered', 'numbered'],
    ['> quoted', 'quoted'],
    // odd rows: no marks left to strip, lone marks, nothing but marks
    ['2 * 3 * 4', '2 * 3 * 4'],
    ['snake_case_name', 'snake_case_name'],
    ['**', '**'],
    ['', ''],
    ['  spaced\n\nout  ', 'spaced out'],
    ['<img src=x onerror=alert(1)>', '<img src=x onerror=alert(1)>'],
  ])('%j', (title, plain) => {
    expect(plainTitle(title)).toBe(plain)
  })
})
