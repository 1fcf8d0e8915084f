/** Shapes of the server's answers, as the page reads them (Open WebUI's spelling). */
export type Role = 'pending' | 'user' | 'admin'

export type SessionUser = {
  id: string
  email: string
  name: string
  role: Role
  permissions?: { features?: { api_keys?: boolean } }
}

export type AppConfig = {
  name: string
  version: string
  features: {
    /** false in single-user mode: no sign-in, the page asks for the one user's session. */
    auth?: boolean
    enable_signup: boolean
    enable_login_form: boolean
    enable_password_auth?: boolean
    enable_ldap?: boolean
    enable_api_keys?: boolean
  }
  /** True while the server has no account: the first sign-up makes its administrator. */
  onboarding?: boolean
  ldap?: { label?: string }
  oauth?: { providers?: Record<string, string> }
}

export type ChatSummary = { id: string; title: string; updated_at: number; created_at: number; pinned: boolean; archived: boolean }

export type StoredMessage = {
  id: string
  parentId: string | null
  role: 'system' | 'user' | 'assistant'
  content: string
  model: string | null
  timestamp: number
  images?: unknown[]
}

export type FullChat = ChatSummary & { chat: { messages: StoredMessage[] } }

export type Model = { id: string; name: string }

export type AdminUser = { id: string; email: string; name: string; role: Role; created_at: number }

export type ApiKeyInfo = { id: string; name: string; created_at: number; expires_at: number | null; last_used_at: number | null }

export type ConnectionStatus = { connection: number; url: string; reachable: boolean; version?: string; reason?: string; message?: string }

/** Frames the chat socket sends (README: Streaming chat over WebSocket). */
export type ServerFrame =
  | { type: 'error'; code: string; message: string }
  | { type: 'chat:started'; chatId: string; userMessageId: number; messageId: string; model: string }
  | { type: 'chat:delta'; chatId: string; messageId: string; index: number; content: string }
  | { type: 'chat:done'; chatId: string; messageId: string; storedMessageId: number; cancelled: boolean }
  | { type: 'chat:error'; chatId: string; messageId: string; code: string; message: string }
  | { type: 'chat:title'; chatId: string; title: string }
