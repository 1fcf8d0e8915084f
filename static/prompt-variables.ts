/**
 * Open WebUI's prompt variables, filled in when a saved prompt is inserted from the `/` picker:
 * {{CURRENT_DATE}} (YYYY-MM-DD), {{CURRENT_TIME}} (12-hour, with seconds), {{CURRENT_DATETIME}},
 * {{CURRENT_WEEKDAY}}, {{CURRENT_TIMEZONE}}, {{USER_NAME}}, {{USER_LANGUAGE}}, {{USER_LOCATION}}
 * and {{CLIPBOARD}}. A value that is not known (no location, a clipboard the page may not read)
 * leaves its variable as it is, for the user to fill.
 */

export type PromptContext = { now: Date; userName: string | null; language: string; timeZone: string; location: string | null; clipboard: string | null }

const pad = (value: number) => String(value).padStart(2, '0')

/** Replaces every known variable in `template`; unknown ones and unknown values stay as written. */
export function fillPromptVariables(template: string, context: PromptContext): string {
  const { now } = context
  const date = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`
  const time = now.toLocaleTimeString('en-US', { hour: 'numeric', minute: 'numeric', second: 'numeric', hour12: true })
  const values: Record<string, string | null> = {
    CURRENT_DATE: date,
    CURRENT_TIME: time,
    CURRENT_DATETIME: `${date} ${time}`,
    CURRENT_WEEKDAY: now.toLocaleDateString('en-US', { weekday: 'long' }),
    CURRENT_TIMEZONE: context.timeZone,
    USER_NAME: context.userName,
    USER_LANGUAGE: context.language,
    USER_LOCATION: context.location,
    CLIPBOARD: context.clipboard,
  }
  // note: one pass, so a value that itself reads like {{X}} (a pasted clipboard) is not filled again.
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => values[name] ?? whole)
}

/** Whether the template asks for the clipboard (reading it needs the user's permission). */
export const usesClipboard = (template: string) => template.includes('{{CLIPBOARD}}')
