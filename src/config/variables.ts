import type { Parser } from './parsers.ts'
import { auditVariables } from './audit-variables.ts'
import { accessVariables } from './access-variables.ts'
import { authVariables } from './auth-variables.ts'
import { chatVariables } from './chat-variables.ts'
import { clusterVariables } from './cluster-variables.ts'
import { databaseVariables } from './database-variables.ts'
import { directConnectionVariables } from './direct-connection-variables.ts'
import { fileVariables } from './file-variables.ts'
import { httpVariables } from './http-variables.ts'
import { ldapVariables } from './ldap-variables.ts'
import { oauthVariables } from './oauth-variables.ts'
import { lifecycleVariables } from './lifecycle-variables.ts'
import { ragVariables } from './rag-variables.ts'
import { ollamaVariables } from './ollama-variables.ts'
import { serverVariables } from './server-variables.ts'
import { socketVariables } from './socket-variables.ts'
import type { Variable } from './variable.ts'

export type { Variable } from './variable.ts'

/**
 * Every setting Enclave reads, one entry each, gathered from one table per topic. Names and
 * meanings follow Open WebUI wherever it has the setting, so an existing env file carries over;
 * ENCRYPTION_KEY(_FILE) follow Libre WebUI.
 */
export const variables = {
  ...serverVariables,
  ...databaseVariables,
  ...ollamaVariables,
  ...httpVariables,
  ...authVariables,
  ...accessVariables,
  ...auditVariables,
  ...socketVariables,
  ...clusterVariables,
  ...chatVariables,
  ...directConnectionVariables,
  ...fileVariables,
  ...oauthVariables,
  ...ldapVariables,
  ...lifecycleVariables,
  ...ragVariables,
} as const satisfies Record<string, Variable<unknown>>

export type VariableName = keyof typeof variables

/** Maps each variable to the type its parser yields, or null where it has no default. */
export type VariableValues = {
  [K in VariableName]: (typeof variables)[K] extends { parse: Parser<infer T> }
    ? (typeof variables)[K]['default'] extends null ? T | null : T
    : never
}
