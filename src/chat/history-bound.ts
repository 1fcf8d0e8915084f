/**
 * What of a conversation a model is sent: no more than its context window can hold. Ollama cuts a
 * conversation longer than `num_ctx` from the front (older messages first) anyway, so sending a
 * 2,000-message chat costs serialising and uploading what the model never reads. The system
 * messages at the start and the last message always go; before the last, as many messages as fit,
 * newest first. A message is counted at MAX_CHARS_PER_TOKEN characters a token, more than any
 * tokenizer averages over a message, so what is left out would not have fitted either.
 */
/** What the bound reads of a message: its role and its text (a model's form, or a stored message whose form is the same in both). */
type Bounded = { readonly role: string; readonly content: string }

/** Characters one token covers at most, averaged over a message (English runs near 4, code and other scripts fewer). */
const MAX_CHARS_PER_TOKEN = 8
/** Tokens a message costs besides its text (its role and the template's markers), at least. */
const TOKENS_PER_MESSAGE = 4

/** A lower bound of the tokens a message takes. */
const tokensOf = (message: Bounded) => TOKENS_PER_MESSAGE + Math.floor(message.content.length / MAX_CHARS_PER_TOKEN)

/** The messages to send to a model whose window is `windowTokens` (null: unknown, all of them), in order. */
export function boundHistory<M extends Bounded>(messages: readonly M[], windowTokens: number | null): readonly M[] {
  if (windowTokens === null || messages.length <= 1) return messages
  let first = 0
  let budget = windowTokens
  while (first < messages.length - 1 && messages[first]!.role === 'system') budget -= tokensOf(messages[first++]!)
  budget -= tokensOf(messages.at(-1)!)
  let from = messages.length - 1
  while (from > first && budget - tokensOf(messages[from - 1]!) >= 0) budget -= tokensOf(messages[--from]!)
  if (from === first) return messages
  // note: sliced, not spread: at 2,000 messages the spread of the kept ~1,000 went element by element through the iterator.
  return first === 0 ? messages.slice(from) : messages.slice(0, first).concat(messages.slice(from))
}
