/**
 * The browser UI's entry: loads the session, then shows sign-in, the pending page, or the app
 * (sidebar plus chat, temporary chat, settings or admin), with the keyboard shortcuts. Works under the server's default CSP: no inline script
 * or style anywhere, and the only HTML from strings is sanitised Markdown.
 */
import { effect, untracked } from '@preact/signals'
import { render } from 'preact'
import { useEffect } from 'preact/hooks'
import { AdminPage } from './admin-page.tsx'
import { whenSessionEnds } from './api.ts'
import { reloadChats } from './chat-list.ts'
import { ChatView } from './chat-view.tsx'
import { ConfirmDialog } from './confirm-dialog.tsx'
import { showChat, startConversations, stopConversations } from './conversation.ts'
import { Menu } from './icons.ts'
import { leave } from './leave.ts'
import { loadModels } from './models.ts'
import './preferences.ts'
import { navigate, route } from './router.ts'
import { bootError, config, forgetUser, loadSession, mayChat, user } from './session.ts'
import { SettingsPage } from './settings-page.tsx'
import { RequiredEnrolment } from './settings-security.tsx'
import { handleShortcut, sidebarOpen } from './shortcuts.ts'
import { ShortcutsDialog } from './shortcuts-dialog.tsx'
import { PendingApproval } from './pending-approval.tsx'
import { PendingCount } from './pending-badge.tsx'
import { SignIn } from './sign-in.tsx'
import { Sidebar } from './sidebar.tsx'
import { TemporaryChatView } from './temporary-chat-view.tsx'
import { Toast } from './toast.tsx'
import { WorkspaceModels } from './workspace-models.tsx'
import { WorkspacePrompts } from './workspace-prompts.tsx'

// note: a session revoked elsewhere or expired ends here too, on the next call that finds it gone.
whenSessionEnds(() => {
  stopConversations()
  forgetUser()
})

// note: the workspace's data starts loading as soon as an active user is known, not in a component
// effect, which Preact runs only after the next paint.
effect(() => {
  const signedIn = user.value
  if (signedIn === null || signedIn === undefined || signedIn.role === 'pending' || signedIn.mfa_enrolment_required === true) return
  // note: untracked, so the signals these read do not make this effect run again.
  untracked(() => {
    startConversations()
    void loadModels()
    void reloadChats()
  })
})

effect(() => {
  const signedIn = user.value
  const current = route.value
  if (signedIn && signedIn.role !== 'pending' && current.name === 'chat') untracked(() => void showChat(current.chatId))
})

function Workspace() {
  const menuOpen = sidebarOpen.value
  const setMenuOpen = (open: boolean) => void (sidebarOpen.value = open)
  const current = route.value
  useEffect(() => {
    addEventListener('keydown', handleShortcut)
    return () => removeEventListener('keydown', handleShortcut)
  }, [])
  return (
    <div class="workspace">
      <a class="skip-link" href="#main">Skip to content</a>
      <button type="button" class="icon open-sidebar" aria-label="Open menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(true)}><Menu size={24} /><PendingCount /></button>
      <Sidebar open={menuOpen} onClose={() => setMenuOpen(false)} />
      {menuOpen && <div class="scrim" aria-hidden="true" onClick={() => setMenuOpen(false)} />}
      <main id="main" class="main">
        {current.name === 'settings' ? <SettingsPage section={current.section} />
          : current.name === 'admin' ? <AdminPage section={current.section} />
            : current.name === 'temporary' && mayChat('temporary') ? <TemporaryChatView />
              : current.name === 'workspace-models' ? <WorkspaceModels />
                : current.name === 'workspace-prompts' ? <WorkspacePrompts />
                  : <ChatView chatId={current.name === 'chat' ? current.chatId : null} />}
      </main>
      <ShortcutsDialog />
      <Toast />
    </div>
  )
}

function App() {
  if (bootError.value !== null) return <main class="auth-page"><p class="alert" role="alert">{bootError.value}</p></main>
  if (config.value === null || user.value === undefined) return <main class="auth-page"><p class="muted" role="status">Loading…</p></main>
  const signedIn = user.value
  if (signedIn === null) return <SignIn />
  if (signedIn.role === 'pending') return <PendingApproval onSignOut={() => void leave(false)} />
  if (signedIn.mfa_enrolment_required === true) return <RequiredEnrolment onSignOut={() => void leave(false)} />
  return <><Workspace /><ConfirmDialog /></>
}

// note: signed out, every path shows sign-in at /auth (keeping ?error= from a failed SSO); signed
// in, /auth leads to the chat.
effect(() => {
  const signedIn = user.value
  if (signedIn === null && route.value.name !== 'auth') navigate('/auth', true)
  if (signedIn && route.value.name === 'auth') navigate('/', true)
})

render(<App />, document.getElementById('app')!)
void loadSession()
