/** Settings → Export and import: every chat as Open WebUI's JSON export, and chats imported from one. */
import { useState } from 'preact/hooks'
import { describeError } from './api.ts'
import { reloadChats } from './chat-list.ts'
import { exportAllChats, importChats, readExportFile } from './chat-export.ts'
import { FileDown, FileUp } from './icons.ts'
import { mayChat } from './session.ts'

/** The largest export file the page reads. */
const MAX_IMPORT_BYTES = 100 * 1024 * 1024

export function ChatDataSection() {
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null)
  const [busy, setBusy] = useState(false)
  const run = async (action: () => Promise<string>) => {
    setBusy(true)
    setMessage(null)
    try {
      setMessage({ ok: true, text: await action() })
    } catch (error) {
      setMessage({ ok: false, text: error instanceof Error && !('status' in error) ? error.message : describeError(error) })
    } finally {
      setBusy(false)
    }
  }
  return (
    <section aria-labelledby="chat-data-heading">
      <h2 id="chat-data-heading">Export and import</h2>
      <p class="muted">An export is a JSON file in Open WebUI's format, with every chat and its messages in plain text: keep it somewhere safe. Open WebUI can import it, and so can this page.</p>
      <div class="row">
        {mayChat('export') && <button type="button" class="secondary" disabled={busy} onClick={() => run(async () => {
          const count = await exportAllChats()
          return `Exported ${count} chat${count === 1 ? '' : 's'}.`
        })}><FileDown size={18} />Export all chats</button>}
        <label class="button secondary file-button">
          <FileUp size={18} />Import chats
          <input type="file" accept="application/json,.json" class="offscreen" disabled={busy} onChange={(event) => {
            const input = event.currentTarget
            const file = input.files?.[0]
            input.value = ''
            if (file === undefined) return
            void run(async () => {
              if (file.size > MAX_IMPORT_BYTES) throw new Error('This file is larger than 100 MB.')
              const entries = readExportFile(await file.text())
              const count = await importChats(entries, (done) => setMessage({ ok: true, text: `Imported ${done} of ${entries.length}…` }))
              await reloadChats()
              return `Imported ${count} chat${count === 1 ? '' : 's'}.`
            })
          }} />
        </label>
      </div>
      {message !== null && <p class={message.ok ? 'notice' : 'alert'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>}
    </section>
  )
}
