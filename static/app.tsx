/**
 * The browser UI's entry: loads the session, then shows sign-in, the pending page, or the app
 * (sidebar plus chat, settings or admin). Works under the server's default CSP: no inline script
 * or style anywhere, and the only HTML from strings is sanitised Markdown.
 */
import { effect, untracked } from '@preact/signals'
import { render } from 'preact'
import { useState } from 'preact/hooks'
import { AdminView } from './admin-view.tsx'
import { whenSessionEnds } from './api.ts'
import { reloadChats } from './chat-list.ts'
import { ChatView } from './chat-view.tsx'
import { ConfirmDialog } from './confirm-dialog.tsx'
import { showChat, startConversations, stopConversations } from './conversation.ts'
import { loadModels } from './models.ts'
import './preferences.ts'
import { navigate, route } from './router.ts'
import { bootError, config, forgetUser, loadSession, signOut, user } from './session.ts'
import { SettingsView } from './settings-view.tsx'
import { PendingApproval } from './pending-approval.tsx'
import { SignIn } from './sign-in.tsx'
import { Sidebar } from './sidebar.tsx'
import { WorkspaceModels } from './workspace-models.tsx'
import { WorkspacePrompts } from './workspace-prompts.tsx'

// note: a session revoked elsewhere or expired ends here too, on the next call that finds it gone.
whenSessionEnds(() => {
  stopConversations()
  forgetUser()
})

const leave = async (everywhere: boolean) => {
  stopConversations()
  await signOut(everywhere)
  navigate('/auth', true)
}

// note: the workspace's data starts loading as soon as an active user is known, not in a component
// effect, which Preact runs only after the next paint.
effect(() => {
  const signedIn = user.value
  if (signedIn === null || signedIn === undefined || signedIn.role === 'pending') return
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
  const [menuOpen, setMenuOpen] = useState(false)
  const current = route.value
  return (
    <div class="workspace">
      <a class="skip-link" href="#main">Skip to content</a>
      <button type="button" class="icon open-sidebar" aria-label="Open menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(true)}>☰</button>
      <Sidebar open={menuOpen} onClose={() => setMenuOpen(false)} />
      {menuOpen && <div class="scrim" aria-hidden="true" onClick={() => setMenuOpen(false)} />}
      <main id="main" class="main">
        {current.name === 'settings' ? <SettingsView onSignOut={leave} />
          : current.name === 'admin' ? <AdminView />
            : current.name === 'workspace-models' ? <WorkspaceModels />
            : current.name === 'workspace-prompts' ? <WorkspacePrompts />
            : <ChatView chatId={current.name === 'chat' ? current.chatId : null} />}
      </main>
    </div>
  )
}

function App() {
  if (bootError.value !== null) return <main class="auth-page"><p class="alert" role="alert">{bootError.value}</p></main>
  if (config.value === null || user.value === undefined) return <main class="auth-page"><p class="muted" role="status">Loading…</p></main>
  const signedIn = user.value
  if (signedIn === null) return <SignIn />
  if (signedIn.role === 'pending') return <PendingApproval onSignOut={() => void leave(false)} />
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
