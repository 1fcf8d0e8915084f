import { boolean } from './parsers.ts'
import type { Variable } from './variable.ts'
import type { VariableValues } from './variables.ts'

/** Who may use what beyond roles: grants on models, admins' reach, and the workspace defaults. */
export type AccessConfig = Readonly<{
  /** BYPASS_MODEL_ACCESS_CONTROL: every active user may use every base model. */
  bypassModelAccess: boolean
  /** BYPASS_ADMIN_ACCESS_CONTROL: admins pass every grant. */
  bypassAdmin: boolean
  /** ENABLE_ADMIN_CHAT_ACCESS: admins may open other users' chats (each read audited). */
  adminChatAccess: boolean
  /** The default workspace permissions (USER_PERMISSIONS_WORKSPACE_*_ACCESS). */
  workspace: Readonly<{ models: boolean; knowledge: boolean; tools: boolean; prompts: boolean }>
}>

/** Open WebUI's access-control switches, with its names and meanings (one default differs: see ENABLE_ADMIN_CHAT_ACCESS). */
export const accessVariables = {
  BYPASS_MODEL_ACCESS_CONTROL: {
    parse: boolean, default: false,
    doc: 'Let every active user use every base model. Off (the default), a model is for admins only until an admin grants it (Admin > Model access), as Open WebUI; models that existed before an upgrade to grants stay public.',
  },
  BYPASS_ADMIN_ACCESS_CONTROL: { parse: boolean, default: true, doc: 'Admins pass every grant: they see and use every model.' },
  ENABLE_ADMIN_CHAT_ACCESS: {
    parse: boolean, default: false,
    doc: 'Let admins open other users\' chats (GET /api/v1/chats/list/user/{id}, /api/v1/chats/{id}); every such read is written to the audit log. Off answers 404. Open WebUI defaults to true; Enclave to false, since its chats are private.',
  },
  USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS: { parse: boolean, default: false, doc: 'Default of the workspace.models permission (users may create workspace models); groups may grant it too.' },
  USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: { parse: boolean, default: false, doc: 'Default of the workspace.knowledge permission; groups may grant it too.' },
  USER_PERMISSIONS_WORKSPACE_TOOLS_ACCESS: { parse: boolean, default: false, doc: 'Default of the workspace.tools permission; groups may grant it too.' },
  USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS: { parse: boolean, default: false, doc: 'Default of the workspace.prompts permission (users may create prompts); groups may grant it too.' },
} as const satisfies Record<string, Variable<unknown>>

/** Builds the access settings from the parsed variables. */
export function accessConfigFrom(values: VariableValues): AccessConfig {
  return Object.freeze({
    bypassModelAccess: values.BYPASS_MODEL_ACCESS_CONTROL,
    bypassAdmin: values.BYPASS_ADMIN_ACCESS_CONTROL,
    adminChatAccess: values.ENABLE_ADMIN_CHAT_ACCESS,
    workspace: Object.freeze({
      models: values.USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS, knowledge: values.USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS,
      tools: values.USER_PERMISSIONS_WORKSPACE_TOOLS_ACCESS, prompts: values.USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS,
    }),
  })
}
