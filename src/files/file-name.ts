/**
 * The name a user gave a file, kept only as a label: sealed in the database, shown in the UI and in
 * a download's Content-Disposition, never used as a path (blobs are named by random ids). A name
 * with a directory part (`../../x`, `C:\x`) keeps its last part; control characters (NUL, line
 * breaks) and the bidirectional overrides that disguise an extension (`exe.png` shown for
 * `png.exe`) are refused, as they have no honest use in a name.
 */

export type FileNameResult = { ok: true; name: string } | { ok: false; message: string }

const MAX_NAME_CHARACTERS = 255

/** Cleans a client's file name into the label stored, or says why it is refused. */
export function cleanFileName(raw: string): FileNameResult {
  if (/[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]/.test(raw)) {
    return { ok: false, message: 'The file name contains control or text-direction characters: rename the file and upload it again.' }
  }
  const last = raw.split(/[/\\]/).pop()!.trim()
  const name = last === '' || last === '.' || last === '..' ? 'file' : last
  return { ok: true, name: [...name].slice(0, MAX_NAME_CHARACTERS).join('') }
}
