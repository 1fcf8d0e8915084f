/**
 * The sidebar: new chat and temporary chat, search, the chat history newest first (pinned ones on
 * top), loaded a page at a time as it scrolls, with rename, pin, archive, download (JSON or
 * Markdown) and delete (after a confirmation) per chat; the user menu at its foot.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import { describeError } from './api.ts'
import {
  chats, deleteChat, hasMore, listError, listLoading, listMode, loadMoreChats, pinned, reloadChats, renameChat, searchText, toggleArchive, togglePin,
} from './chat-list.ts'
import { exportChat } from './chat-export.ts'
import { confirmAction } from './confirm-dialog.tsx'
import { openChat } from './conversation.ts'
import { Archive, Boxes, Download, Ellipsis, FileDown, FileText, MessageSquareDashed, Pencil, Pin, Search, SquarePen, Trash2, X } from './icons.ts'
import { plainTitle } from './plain-title.ts'
import { navigate, route } from './router.ts'
import { config, mayChat } from './session.ts'
import type { ChatSummary } from './types.ts'
import { UserMenu } from './user-menu.tsx'
import { mayCreate } from './workspace-access.tsx'
import type { ComponentChildren } from 'preact'

function ChatItem({ chat, onNavigate }: { chat: ChatSummary; onNavigate: () => void }) {
  const [menuOpen, setMenuOpen] = useState(false)
  const [renaming, setRenaming] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const current = route.value.name === 'chat' && route.value.chatId === chat.id
  const title = plainTitle(chat.title)
  const run = async (action: () => Promise<unknown>) => {
    setMenuOpen(false)
    setError(null)
    try {
      await action()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  if (renaming) {
    return (
      <li class="chat-item">
        <form class="rename" onSubmit={(event) => {
          event.preventDefault()
          const title = String(new FormData(event.currentTarget).get('title') ?? '').trim()
          setRenaming(false)
          if (title !== '' && title !== chat.title) void run(async () => {
            const changed = await renameChat(chat.id, title)
            if (openChat.value?.id === chat.id) openChat.value = { ...openChat.value, title: changed.title }
          })
        }}>
          <label class="offscreen" for={`rename-${chat.id}`}>New title</label>
          <input id={`rename-${chat.id}`} name="title" defaultValue={chat.title} maxLength={1000} ref={(input) => input?.focus()}
            onKeyDown={(event) => { if (event.key === 'Escape') setRenaming(false) }} />
          <button type="submit">Save</button>
        </form>
      </li>
    )
  }
  return (
    <li class="chat-item">
      <div class="row">
        <a href={`/c/${chat.id}`} aria-current={current ? 'page' : undefined} onClick={(event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
          event.preventDefault()
          navigate(`/c/${chat.id}`)
          onNavigate()
        }}>{chat.pinned && <Pin size={14} class="pin-mark" />}{title}</a>
        <button type="button" class="icon more" aria-label={`Actions for ${title}`} aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}><Ellipsis size={18} /></button>
      </div>
      {menuOpen && (
        <div class="menu" role="group" aria-label={`Actions for ${title}`} onKeyDown={(event) => { if (event.key === 'Escape') setMenuOpen(false) }}>
          <button type="button" ref={(button) => button?.focus()} onClick={() => { setMenuOpen(false); setRenaming(true) }}><Pencil size={16} />Rename</button>
          {!chat.archived && <button type="button" onClick={() => run(() => togglePin(chat.id))}><Pin size={16} />{chat.pinned ? 'Unpin' : 'Pin'}</button>}
          <button type="button" onClick={() => run(() => toggleArchive(chat.id))}><Archive size={16} />{chat.archived ? 'Unarchive' : 'Archive'}</button>
          {mayChat('export') && <button type="button" onClick={() => run(() => exportChat(chat.id, 'json'))}><Download size={16} />Download JSON</button>}
          {mayChat('export') && <button type="button" onClick={() => run(() => exportChat(chat.id, 'markdown'))}><FileDown size={16} />Download Markdown</button>}
          {mayChat('delete') && <button type="button" class="danger" onClick={() => run(async () => {
            if (!(await confirmAction(`Delete “${title}”? This cannot be undone.`))) return
            await deleteChat(chat.id)
            if (current) navigate('/')
          })}><Trash2 size={16} />Delete</button>}
        </div>
      )}
      {error !== null && <p class="alert small" role="alert">{error}</p>}
    </li>
  )
}

export function Sidebar({ open, onClose }: { open: boolean; onClose: () => void }) {
  const sentinel = useRef<HTMLLIElement>(null)
  const [query, setQuery] = useState(searchText.value)

  useEffect(() => {
    const timer = setTimeout(() => {
      if (query !== searchText.value) {
        searchText.value = query
        void reloadChats()
      }
    }, 250)
    return () => clearTimeout(timer)
  }, [query])

  // note: observing again after each page makes the observer report the sentinel afresh, so a
  // page that leaves it in view loads the next one.
  const count = chats.value.length
  useEffect(() => {
    const target = sentinel.current
    if (target === null) return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) void loadMoreChats()
    }, { rootMargin: '400px' })
    observer.observe(target)
    return () => observer.disconnect()
  }, [count, listLoading.value])

  const searching = searchText.value.trim() !== ''
  const pinnedIds = new Set(pinned.value.map((chat) => chat.id))
  const showPinned = listMode.value === 'live' && !searching && pinned.value.length > 0
  const listed = showPinned ? chats.value.filter((chat) => !pinnedIds.has(chat.id)) : chats.value

  return (
    <nav class={`sidebar${open ? ' open' : ''}`} aria-label="Chats">
      <div class="sidebar-top">
        <strong class="brand">{config.value?.name ?? 'Enclave'}</strong>
        <button type="button" class="icon close-sidebar" aria-label="Close menu" onClick={onClose}><X size={22} /></button>
      </div>
      <div class="sidebar-actions">
        <a class="button new-chat" href="/" aria-current={route.value.name === 'chat' && route.value.chatId === null ? 'page' : undefined}
          onClick={(event) => { event.preventDefault(); navigate('/'); onClose() }}><SquarePen size={18} />New chat</a>
        {mayChat('temporary') && <a class="button secondary icon-only" href="/temporary" aria-label="Temporary chat" title="Temporary chat: not stored"
          aria-current={route.value.name === 'temporary' ? 'page' : undefined}
          onClick={(event) => { event.preventDefault(); navigate('/temporary'); onClose() }}><MessageSquareDashed size={18} /></a>}
      </div>
      <label class="search">
        <span class="offscreen">Search chats</span>
        <Search size={16} class="search-icon" />
        <input id="chat-search" type="search" placeholder="Search chats" value={query} maxLength={500} onInput={(event) => setQuery(event.currentTarget.value)} />
      </label>
      <div class="tabs small" role="group" aria-label="Which chats">
        <button type="button" aria-pressed={listMode.value === 'live'} onClick={() => { listMode.value = 'live'; void reloadChats() }}>Chats</button>
        <button type="button" aria-pressed={listMode.value === 'archived'} onClick={() => { listMode.value = 'archived'; void reloadChats() }}>Archived</button>
      </div>
      <div class="chat-lists">
        {showPinned && (
          <>
            <h2 class="list-heading">Pinned</h2>
            <ul class="chat-list">{pinned.value.map((chat) => <ChatItem key={chat.id} chat={chat} onNavigate={onClose} />)}</ul>
            <h2 class="list-heading">History</h2>
          </>
        )}
        <ul class="chat-list" aria-busy={listLoading.value}>
          {listed.map((chat) => <ChatItem key={chat.id} chat={chat} onNavigate={onClose} />)}
          <li ref={sentinel} class="sentinel" aria-hidden="true" />
        </ul>
        {listLoading.value && <p class="muted small" role="status">Loading…</p>}
        {!listLoading.value && !hasMore.value && chats.value.length === 0 && (
          <p class="muted small">{searching ? 'No chat matches.' : listMode.value === 'archived' ? 'No archived chats.' : 'No chats yet.'}</p>
        )}
        {listError.value !== null && <p class="alert small" role="alert">{listError.value}</p>}
      </div>
      {(mayCreate('models') || mayCreate('prompts')) && (
        <ul class="sidebar-links" aria-label="Workspace">
          {mayCreate('models') && <li><WorkspaceLink path="/workspace/models" current={route.value.name === 'workspace-models'} onNavigate={onClose}><Boxes size={18} />Models</WorkspaceLink></li>}
          {mayCreate('prompts') && <li><WorkspaceLink path="/workspace/prompts" current={route.value.name === 'workspace-prompts'} onNavigate={onClose}><FileText size={18} />Prompts</WorkspaceLink></li>}
        </ul>
      )}
      <div class="sidebar-bottom">
        <UserMenu onNavigate={onClose} />
      </div>
    </nav>
  )
}

/** A workspace page's entry in the sidebar: icon and label, marked when it is the page shown. */
function WorkspaceLink({ path, current, onNavigate, children }: { path: string; current: boolean; onNavigate: () => void; children: ComponentChildren }) {
  return (
    <a class="button secondary sidebar-link" href={path} aria-current={current ? 'page' : undefined}
      onClick={(event) => { event.preventDefault(); navigate(path); onNavigate() }}>{children}</a>
  )
}
