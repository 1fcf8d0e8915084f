/**
 * Chat-like ASCII text for the benchmark, varied from message to message. Encrypted bytes look
 * random whatever the input, so this only has to be the right size and plausible to read.
 */

const words = (
  'the a model answer question you can it is this that to of and in for with on how what why when should ' +
  'function server request database message response error value user chat token context prompt example ' +
  'because however first then next finally also please note return string number list file config key ' +
  'local network memory performance result check run install build test deploy update version change'
).split(' ')

/** Returns a deterministic pseudo-random generator of numbers in [0, 1) for the seed (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Returns exactly `length` ASCII characters of sentence-like text; the same seed gives the same text. */
export function sampleText(length: number, seed: number): string {
  const random = seededRandom(seed)
  const sentences: string[] = []
  let total = 0
  while (total < length) {
    const count = 6 + Math.floor(random() * 12)
    const picked = Array.from({ length: count }, () => words[Math.floor(random() * words.length)]!)
    const sentence = picked.join(' ')
    const ending = random() < 0.15 ? '?' : '.'
    sentences.push(sentence.charAt(0).toUpperCase() + sentence.slice(1) + ending)
    total += sentence.length + 2
  }
  return sentences.join(' ').slice(0, length)
}

/** Returns the number of bytes the text takes as UTF-8. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
