/** Shapes of the server's answers, as the page reads them (Open WebUI's spelling). */
export type Role = 'pending' | 'user' | 'admin'

export type SessionUser = {
  id: string
  email: string
  name: string
  role: Role
  /** Open WebUI's effective permissions tree (defaults and groups), as the session answers it. */
  permissions?: { features?: { api_keys?: boolean }; workspace?: { models?: boolean; prompts?: boolean }; chat?: Record<string, boolean> }
  /** Set while MFA_REQUIRED holds this user to setting up a second factor (settings-security.tsx). */
  mfa_enrolment_required?: boolean
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
    enable_passkey_login?: boolean
    /** Users may add their own OpenAI-compatible endpoints (ENABLE_DIRECT_CONNECTIONS). */
    enable_direct_connections?: boolean
  }
  /** True while the server has no account: the first sign-up makes its administrator. */
  onboarding?: boolean
  /** Present while the server's only admin has no password (single-user mode turned off): the page offers to set it. */
  account_claim?: { email: string }
  /** True while the first account (or the claim) needs the one-time setup token from the server's data directory. */
  setup_token_required?: boolean
  /** What a new password must be: a minimum length and, with a pattern, the server's hint. */
  password_rules?: { min_length: number; hint: string | null }
  ldap?: { label?: string }
  oauth?: { providers?: Record<string, string> }
}

export type ChatSummary = { id: string; title: string; updated_at: number; created_at: number; pinned: boolean; archived: boolean }

/** One message of a chat's tree, as Open WebUI keeps it; `done: false` marks an answer cut off or (with `cancelled`) stopped. */
export type StoredMessage = {
  id: string
  parentId: string | null
  childrenIds: string[]
  role: 'system' | 'user' | 'assistant'
  content: string
  model?: string | null
  timestamp: number
  images?: unknown[]
  /** The files the message references (Open WebUI's entries: type, id, name, url). */
  files?: unknown[]
  /** The passages retrieval gave the answer (Open WebUI's `sources`), shown as its citations. */
  sources?: unknown[]
  done?: boolean
  cancelled?: boolean
  error?: { content?: unknown } | null
  usage?: Record<string, unknown>
}

/** A chat's system prompt and model parameters (Ollama's option names). */
export type ChatSettings = { system: string | null; params: Record<string, unknown> }

export type FullChat = ChatSummary & {
  chat: { history: { messages: Record<string, StoredMessage>; currentId: string | null }; system?: string; params?: Record<string, unknown> }
}

export type Model = { id: string; name: string }

export type AdminUser = { id: string; email: string; name: string; role: Role; created_at: number }

export type ApiKeyInfo = { id: string; name: string; created_at: number; expires_at: number | null; last_used_at: number | null }

export type ConnectionStatus = { connection: number; url: string; reachable: boolean; version?: string; reason?: string; message?: string }

/** Frames the chat socket sends (README: Streaming chat over WebSocket). */
export type ServerFrame =
  | { type: 'error'; code: string; message: string }
  | { type: 'chat:started'; chatId: string; userMessageId: number; parentId: string; currentId: string; messageId: string; model: string; regenerate: boolean }
  | { type: 'chat:delta'; chatId: string; messageId: string; index: number; content: string }
  | { type: 'chat:done'; chatId: string; messageId: string; storedMessageId: number; storedMessageUid: string; parentId: string; cancelled: boolean; sources?: unknown[] }
  | { type: 'chat:current'; chatId: string; currentId: string | null }
  | { type: 'chat:changed'; chatId: string }
  | { type: 'chat:error'; chatId: string; messageId: string; code: string; message: string }
  | { type: 'chat:title'; chatId: string; title: string }
  | { type: 'model:pull'; name: string; connection: number; status: string; total?: number; completed?: number; error?: string }
