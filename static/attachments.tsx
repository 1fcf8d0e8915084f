/**
 * Images attached to the next message: chosen with the Attach button, pasted, or dropped on the
 * composer; each is uploaded at once to /api/v1/files/ (the server detects its type and stores it
 * encrypted) and shown as a preview from the local copy (a blob: URL, which the page's CSP allows).
 * A sent message's images are shown from the file route, with the session cookie, same origin.
 */
import { signal } from '@preact/signals'
import { useRef } from 'preact/hooks'
import { Paperclip, X } from './icons.ts'

type Attachment = { key: string; name: string; preview: string; status: 'uploading' | 'ready' | 'failed'; fileId: string | null; error: string | null }

/** The attachments of the message being written. */
export const attachments = signal<Attachment[]>([])

const ACCEPTED = 'image/png,image/jpeg,image/gif,image/webp'

const update = (key: string, change: Partial<Attachment>) => {
  attachments.value = attachments.value.map((item) => (item.key === key ? { ...item, ...change } : item))
}

/** Uploads each image file and adds it to the message being written; other files are ignored. */
export function attachFiles(files: Iterable<File>): void {
  for (const file of files) {
    if (!file.type.startsWith('image/')) continue
    const key = crypto.randomUUID()
    attachments.value = [...attachments.value, { key, name: file.name || 'image', preview: URL.createObjectURL(file), status: 'uploading', fileId: null, error: null }]
    void upload(file).then(
      (fileId) => update(key, { status: 'ready', fileId }),
      (error: unknown) => update(key, { status: 'failed', error: error instanceof Error ? error.message : 'The upload failed.' }),
    )
  }
}

async function upload(file: File): Promise<string> {
  const form = new FormData()
  form.append('file', file)
  const response = await fetch('/api/v1/files/', { method: 'POST', credentials: 'same-origin', body: form })
  const body = await response.json().catch(() => null) as { id?: string; detail?: string } | null
  if (!response.ok || typeof body?.id !== 'string') throw new Error(body?.detail ?? `The upload failed (${response.status}).`)
  return body.id
}

function remove(key: string): void {
  const item = attachments.value.find((entry) => entry.key === key)
  if (item !== undefined) URL.revokeObjectURL(item.preview)
  attachments.value = attachments.value.filter((entry) => entry.key !== key)
}

/** Whether an attachment is still uploading (the message waits for it). */
export const isUploading = () => attachments.value.some((item) => item.status === 'uploading')

/** The file ids to send with the message, and clears the tray; empty when nothing is attached. */
export function takeAttachedFileIds(): string[] {
  const ids = attachments.value.flatMap((item) => (item.status === 'ready' && item.fileId !== null ? [item.fileId] : []))
  for (const item of attachments.value) URL.revokeObjectURL(item.preview)
  attachments.value = []
  return ids
}

/** The Attach button, with its hidden file picker. */
export function AttachButton({ disabled }: { disabled: boolean }) {
  const input = useRef<HTMLInputElement>(null)
  return (
    <>
      <input ref={input} type="file" accept={ACCEPTED} multiple hidden aria-hidden="true" tabIndex={-1}
        onChange={(event) => {
          attachFiles(event.currentTarget.files ?? [])
          event.currentTarget.value = ''
        }} />
      <button type="button" class="round attach" aria-label="Attach images" title="Attach images" disabled={disabled} onClick={() => input.current?.click()}><Paperclip size={20} /></button>
    </>
  )
}

/** The previews of the images attached to the message being written. */
export function AttachmentTray() {
  if (attachments.value.length === 0) return null
  return (
    <ul class="attachment-tray" aria-label="Attached images">
      {attachments.value.map((item) => (
        <li key={item.key} data-status={item.status}>
          <img src={item.preview} alt={item.name} />
          {item.status === 'uploading' && <span class="muted small" role="status">Uploading…</span>}
          {item.status === 'failed' && <span class="small error-text" role="alert">{item.error}</span>}
          <button type="button" class="icon" aria-label={`Remove ${item.name}`} onClick={() => remove(item.key)}><X size={14} /></button>
        </li>
      ))}
    </ul>
  )
}

/** The composer's paste and drop handlers: images pasted or dropped are attached. */
export const attachmentEvents = {
  onPaste(event: ClipboardEvent) {
    const files = [...(event.clipboardData?.files ?? [])].filter((file) => file.type.startsWith('image/'))
    if (files.length === 0) return
    event.preventDefault()
    attachFiles(files)
  },
  onDragOver(event: DragEvent) {
    if (event.dataTransfer?.types.includes('Files')) event.preventDefault()
  },
  onDrop(event: DragEvent) {
    if ((event.dataTransfer?.files.length ?? 0) === 0) return
    event.preventDefault()
    attachFiles(event.dataTransfer!.files)
  },
}

type FileReference = { type?: unknown; id?: unknown; name?: unknown }

/** The images (and other files, as links) a stored message references. */
export function MessageFiles({ files }: { files: unknown[] | undefined }) {
  const references = (files ?? []).filter((file): file is FileReference & { id: string } =>
    typeof file === 'object' && file !== null && typeof (file as FileReference).id === 'string' && /^[0-9a-f-]{36}$/.test((file as { id: string }).id))
  if (references.length === 0) return null
  return (
    <div class="message-files">
      {references.map((file) => {
        const name = typeof file.name === 'string' ? file.name : 'file'
        const url = `/api/v1/files/${file.id}/content`
        return file.type === 'image'
          ? <img key={file.id} src={url} alt={name} loading="lazy" />
          : <a key={file.id} href={url} class="file-chip" download>{name}</a>
      })}
    </div>
  )
}
