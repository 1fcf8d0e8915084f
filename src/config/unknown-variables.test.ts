import { describe, expect, test } from 'bun:test'
import { describeUnknownVariables, findUnknownVariables } from './unknown-variables.ts'

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
