/**
 * The composer's `/` picker: typing `/` (alone, or after a space) lists the saved prompts the user
 * may read (GET /api/v1/prompts/), narrowed by what follows; Up/Down move, Enter or Tab inserts the
 * chosen prompt in place of the `/word`, with Open WebUI's variables filled (prompt-variables.ts),
 * Escape closes. The list is fetched each time the picker opens.
 */
import { useEffect, useState } from 'preact/hooks'
import type { JSX, TargetedKeyboardEvent } from 'preact'
import { handlePickerKey } from './picker-keys.ts'
import { api } from './api.ts'
import { fillPromptVariables, usesClipboard } from './prompt-variables.ts'
import { user } from './session.ts'

type Prompt = { command: string; title: string; content: string }

/** The `/word` being typed at the end of the text, without its slash, or null when there is none. */
export function commandBeingTyped(text: string): string | null {
  const match = /(?:^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(text)
  return match === null ? null : match[1]!
}

/** The prompts the user may read, fetched each time the picker opens (a prompt saved meanwhile shows at once). */
const loadPrompts = () => api<Prompt[]>('GET', '/api/v1/prompts/').catch(() => [] as Prompt[])

async function readClipboard(): Promise<string | null> {
  try {
    return await navigator.clipboard.readText()
  } catch {
    return null
  }
}

/**
 * The picker for the composer's `text`: `onKeyDown` takes the keys it handles (true: handled),
 * `view` is the list to draw above the box (null while closed), `activeId` the id of its highlighted
 * option, for the box's aria-activedescendant. `setText` receives the new text.
 */
export function usePromptPicker(text: string, setText: (next: string) => void): { onKeyDown: (event: TargetedKeyboardEvent<HTMLTextAreaElement>) => boolean; view: JSX.Element | null; activeId: string | null } {
  const typed = commandBeingTyped(text)
  const [prompts, setPrompts] = useState<Prompt[]>([])
  const [active, setActive] = useState(0)
  const [dismissed, setDismissed] = useState<string | null>(null)
  useEffect(() => {
    if (typed !== null) void loadPrompts().then(setPrompts)
  }, [typed !== null])
  useEffect(() => setActive(0), [typed])
  const matches = typed === null || dismissed === text ? [] : prompts.filter((prompt) => prompt.command.slice(1).toLowerCase().startsWith(typed.toLowerCase())).slice(0, 8)

  const insert = async (prompt: Prompt) => {
    const clipboard = usesClipboard(prompt.content) ? await readClipboard() : null
    const filled = fillPromptVariables(prompt.content, {
      now: new Date(), userName: user.value?.name ?? null, language: navigator.language, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone, location: null, clipboard,
    })
    setText(text.slice(0, text.length - (typed?.length ?? 0) - 1) + filled)
  }

  const onKeyDown = (event: TargetedKeyboardEvent<HTMLTextAreaElement>): boolean =>
    handlePickerKey(event, { count: matches.length, active, setActive, choose: (index) => void insert(matches[index]!), dismiss: () => setDismissed(text) })

  const view = matches.length === 0 ? null : (
    <ul class="prompt-picker" id="prompt-picker" role="listbox" aria-label="Saved prompts">
      {matches.map((prompt, index) => (
        <li
          id={`prompt-pick-${index}`}
          role="option"
          aria-selected={index === active}
          class={index === active ? 'active' : undefined}
          onMouseDown={(event) => { event.preventDefault(); void insert(prompt) }}
        >
          <span class="prompt-command">{prompt.command}</span> <span class="muted small">{prompt.title}</span>
        </li>
      ))}
    </ul>
  )
  return { onKeyDown, view, activeId: matches.length === 0 ? null : `prompt-pick-${Math.min(active, matches.length - 1)}` }
}
