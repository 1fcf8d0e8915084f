/**
 * A chat title as plain text. Titles come from the first question or from the model, which often
 * writes Markdown (`**Quokka** facts`, `# Title`, `[a link](…)`); the sidebar and the page title
 * show the words without the marks.
 */
export function plainTitle(title: string): string {
  const plain = title
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^\s{0,3}(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)/, '')
    .replace(/(\*\*?)(?=\S)(.+?)(?<=\S)\1/g, '$2')
    // note: underscores mark emphasis only outside a word, as in Markdown: snake_case stays.
    .replace(/(?<![\p{L}\p{N}])(__?)(?=\S)(.+?)(?<=\S)\1(?![\p{L}\p{N}])/gu, '$2')
    .replace(/~~(?=\S)(.+?)(?<=\S)~~/g, '$1')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
  return plain === '' ? title.trim() : plain
}
