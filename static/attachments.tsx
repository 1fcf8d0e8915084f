/**
 * What the next message attaches: images and documents chosen with the Attach button, pasted, or
 * dropped on the composer, and documents or knowledge bases picked with `#` (file-picker.tsx).
 * A file is uploaded at once to /api/v1/files/ (the server detects its type and stores it
 * encrypted); an image is previewed from the local copy (a blob: URL, which the page's CSP
 * allows), a document shows as a chip that waits until the server has read it (its `data.status`),
 * since only a read document can be asked about. A sent message's images are shown from the file
 * route, with the session cookie, same origin.
 */
import { signal } from '@preact/signals'
import { useRef } from 'preact/hooks'
import { api } from './api.ts'
import { BookOpen, FileText, Paperclip, X } from './icons.ts'

type Attachment = {
  key: string; name: string
  /** `collection`: a knowledge base; `file`: a document; `image`: an image, previewed from `preview`. */
  kind: 'image' | 'file' | 'collection'
  preview: string | null
  status: 'uploading' | 'reading' | 'ready' | 'failed'
  fileId: string | null; error: string | null
}

/** The attachments of the message being written. */
export const attachments = signal<Attachment[]>([])

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp']
// note: the server decides the type from the bytes; this list only shapes the file chooser.
const DOCUMENT_TYPES = ['.pdf', '.docx', '.txt', '.md', '.markdown', '.csv', '.tsv', '.json', '.html', '.htm', 'text/plain', 'text/markdown', 'text/csv', 'text/html', 'application/json', 'application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document']
const ACCEPTED = [...IMAGE_TYPES, ...DOCUMENT_TYPES].join(',')
/** How long a document is waited for while the server reads it (polled every half second). */
const READ_POLLS = 600

const update = (key: string, change: Partial<Attachment>) => {
  attachments.value = attachments.value.map((item) => (item.key === key ? { ...item, ...change } : item))
}

const isImage = (file: File) => file.type.startsWith('image/')

/** Uploads each file and adds it to the message being written: images to look at, documents to ask about. */
export function attachFiles(files: Iterable<File>): void {
  for (const file of files) {
    const key = crypto.randomUUID()
    const kind = isImage(file) ? 'image' : 'file'
    const preview = kind === 'image' ? URL.createObjectURL(file) : null
    attachments.value = [...attachments.value, { key, name: file.name || kind, kind, preview, status: 'uploading', fileId: null, error: null }]
    void upload(file).then(
      async (uploaded) => {
        if (uploaded.kind === 'image' || kind === 'image') return update(key, { status: 'ready', fileId: uploaded.id })
        update(key, { status: 'reading', fileId: uploaded.id })
        const read = await waitUntilRead(uploaded.id)
        update(key, read === null ? { status: 'ready' } : { status: 'failed', error: read })
      },
      (error: unknown) => update(key, { status: 'failed', error: error instanceof Error ? error.message : 'The upload failed.' }),
    )
  }
}

/** Attaches one of the user's documents or a knowledge base they may read, as `#` picks it; once each. */
export function attachExisting(kind: 'file' | 'collection', id: string, name: string): void {
  if (attachments.value.some((item) => item.kind === kind && item.fileId === id)) return
  attachments.value = [...attachments.value, { key: crypto.randomUUID(), name, kind, preview: null, status: 'ready', fileId: id, error: null }]
}

type UploadAnswer = { id?: string; detail?: string; meta?: { content_type?: string } }

async function upload(file: File): Promise<{ id: string; kind: 'image' | 'file' }> {
  const form = new FormData()
  form.append('file', file)
  const response = await fetch('/api/v1/files/', { method: 'POST', credentials: 'same-origin', body: form })
  const body = await response.json().catch(() => null) as UploadAnswer | null
  if (!response.ok || typeof body?.id !== 'string') throw new Error(body?.detail ?? `The upload failed (${response.status}).`)
  return { id: body.id, kind: body.meta?.content_type?.startsWith('image/') === true ? 'image' : 'file' }
}

/** Waits until the server has read the document: null when it is ready, else why it is not. */
async function waitUntilRead(id: string): Promise<string | null> {
  for (let poll = 0; poll < READ_POLLS; poll++) {
    const file = await api<{ data?: { status?: string; error?: string } }>('GET', `/api/v1/files/${id}`).catch(() => null)
    const status = file?.data?.status
    if (status === 'completed' || status === undefined) return null
    if (status === 'failed') return `This document could not be read (${file?.data?.error ?? 'unknown reason'}).`
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return 'The server is still reading this document; attach it again later.'
}

function remove(key: string): void {
  const item = attachments.value.find((entry) => entry.key === key)
  if (item?.preview != null) URL.revokeObjectURL(item.preview)
  attachments.value = attachments.value.filter((entry) => entry.key !== key)
}

/** Whether an attachment is still uploading or being read (the message waits for it). */
export const isUploading = () => attachments.value.some((item) => item.status === 'uploading' || item.status === 'reading')

/** The `files` entries to send with the message (Open WebUI's `{ type, id }`), and clears the tray; empty when nothing is attached. */
export function takeAttachedFiles(): { type: 'image' | 'file' | 'collection'; id: string }[] {
  const entries = attachments.value.flatMap((item) => (item.status === 'ready' && item.fileId !== null ? [{ type: item.kind, id: item.fileId }] : []))
  for (const item of attachments.value) if (item.preview !== null) URL.revokeObjectURL(item.preview)
  attachments.value = []
  return entries
}

const STATUS_TEXT = { uploading: 'Uploading…', reading: 'Reading…' } as const

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
      <button type="button" class="round attach" aria-label="Attach files" title="Attach images or documents (or type # to pick one)" disabled={disabled} onClick={() => input.current?.click()}><Paperclip size={20} /></button>
    </>
  )
}

/** The images, documents and knowledge bases attached to the message being written. */
export function AttachmentTray() {
  if (attachments.value.length === 0) return null
  return (
    <ul class="attachment-tray" aria-label="Attached files">
      {attachments.value.map((item) => (
        <li key={item.key} data-status={item.status} data-kind={item.kind}>
          {item.preview !== null
            ? <img src={item.preview} alt={item.name} />
            : <span class="file-chip" title={item.name}>{item.kind === 'collection' ? <BookOpen size={14} /> : <FileText size={14} />}<span>{item.name}</span></span>}
          {(item.status === 'uploading' || item.status === 'reading') && <span class="muted small" role="status">{STATUS_TEXT[item.status]}</span>}
          {item.status === 'failed' && <span class="small error-text" role="alert">{item.error}</span>}
          <button type="button" class="icon" aria-label={`Remove ${item.name}`} onClick={() => remove(item.key)}><X size={14} /></button>
        </li>
      ))}
    </ul>
  )
}

/** The composer's paste and drop handlers: files pasted or dropped are attached. */
export const attachmentEvents = {
  onPaste(event: ClipboardEvent) {
    const files = [...(event.clipboardData?.files ?? [])]
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

/** The images, documents (as links) and knowledge bases (by name) a stored message references. */
export function MessageFiles({ files }: { files: unknown[] | undefined }) {
  const references = (files ?? []).filter((file): file is FileReference & { id: string } =>
    typeof file === 'object' && file !== null && typeof (file as FileReference).id === 'string' && /^[0-9a-f-]{36}$/.test((file as { id: string }).id))
  if (references.length === 0) return null
  return (
    <div class="message-files">
      {references.map((file) => {
        const name = typeof file.name === 'string' ? file.name : 'file'
        const url = `/api/v1/files/${file.id}/content`
        if (file.type === 'collection') return <span key={file.id} class="file-chip" title="Knowledge base"><BookOpen size={14} />{name}</span>
        return file.type === 'image'
          ? <img key={file.id} src={url} alt={name} loading="lazy" />
          : <a key={file.id} href={url} class="file-chip" download><FileText size={14} />{name}</a>
      })}
    </div>
  )
}
