/**
 * Code highlighting with highlight.js's core and a handful of common languages, to keep the bundle
 * small. The output is escaped HTML with span classes only (it goes through DOMPurify after).
 */
import hljs from 'highlight.js/lib/core'
import bash from 'highlight.js/lib/languages/bash'
import css from 'highlight.js/lib/languages/css'
import go from 'highlight.js/lib/languages/go'
import javascript from 'highlight.js/lib/languages/javascript'
import json from 'highlight.js/lib/languages/json'
import python from 'highlight.js/lib/languages/python'
import rust from 'highlight.js/lib/languages/rust'
import sql from 'highlight.js/lib/languages/sql'
import typescript from 'highlight.js/lib/languages/typescript'
import xml from 'highlight.js/lib/languages/xml'

const languages = { bash, css, go, javascript, json, python, rust, sql, typescript, xml }
for (const [name, language] of Object.entries(languages)) hljs.registerLanguage(name, language)
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' })
hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' })
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' })
hljs.registerAliases(['py'], { languageName: 'python' })
hljs.registerAliases(['html', 'svg', 'xhtml'], { languageName: 'xml' })
hljs.registerAliases(['rs'], { languageName: 'rust' })

/** Highlighted HTML for `code` in `language`; null when the language is not one we carry. */
export function highlightCode(code: string, language: string): string | null {
  if (language === '' || hljs.getLanguage(language) === undefined) return null
  return hljs.highlight(code, { language, ignoreIllegals: true }).value
}
