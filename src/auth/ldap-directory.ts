/**
 * One conversation with the directory over ldapts: connect (ldaps://, or ldap:// upgraded with
 * StartTLS before anything else is sent), bind, search, close. Every step is bounded by the
 * configured timeout, and `close()` is safe to call on every path, so a directory that is down or
 * hangs costs a request a few seconds, never a hung request or a leaked socket.
 *
 * Threat: the app password and the user's password cross this module. They go to ldapts and
 * nowhere else: DirectoryError messages are built from error codes and the steps taken, never from
 * the arguments. ldapts is imported at the first conversation, so a server without LDAP never loads it.
 */
import { ipVersionOf } from '../config/ip-address.ts'
import type { ConnectionOptions, connect as ConnectTls } from 'node:tls'
import type { Client, Entry } from 'ldapts'
import type { LdapConfig } from '../config/ldap-variables.ts'

/** Where a conversation failed, and a message for the log and the admin (no secrets in it). */
export type DirectoryFailure =
  | 'unreachable' | 'timeout' | 'tls_untrusted' | 'tls_failed' | 'app_bind_refused' | 'search_failed'

export class DirectoryError extends Error {
  constructor(readonly failure: DirectoryFailure, message: string) {
    super(message)
    this.name = 'DirectoryError'
  }
}

export type DirectoryConnection = {
  /** Binds as LDAP_APP_DN, or does nothing when none is set (anonymous search). */
  bindAsApp(): Promise<void>
  /**
   * Searches the whole subtree under the search base; at most `sizeLimit` entries (ldapts returns
   * those found when more match). `binaryAttributes` come back as Buffers.
   */
  searchUsers(filter: string, attributes: string[], sizeLimit: number, binaryAttributes?: string[]): Promise<Entry[]>
  /** Binds as the entry; false when the directory says the password is wrong. */
  bindAsUser(dn: string, password: string): Promise<boolean>
  /** Unbinds and closes the socket; never throws, never waits longer than the timeout. */
  close(): Promise<void>
}

/** Opens a connection as the settings say; throws DirectoryError when it can't. */
export async function openDirectory(ldap: LdapConfig): Promise<DirectoryConnection> {
  const { Client, InvalidCredentialsError } = await import('ldapts')
  // note: imported here, as ldapts is: node:tls (and node:net under it) cost a start several MB it never uses without LDAP.
  const { connect: connectTls } = await import('node:tls')
  const tls = tlsOptionsFor(ldap)
  const scheme = ldap.transport === 'ldaps' ? 'ldaps' : 'ldap'
  const host = ipVersionOf(ldap.host) === 6 ? `[${ldap.host}]` : ldap.host
  // note: under Bun, TLS options given to the constructor of an ldap:// client break a later
  // StartTLS; they go to startTLS() instead, and to the constructor only for ldaps://.
  // note: ldapts watches only the socket it opened for closing, not the one StartTLS makes, so
  // this watches every TLS socket itself: a closed one ends the conversation at once.
  let isTlsLost = false
  const watchedTls = ((...args: Parameters<typeof ConnectTls>) => {
    const socket = (connectTls as (...a: unknown[]) => ReturnType<typeof ConnectTls>)(...args)
    socket.once('close', () => { isTlsLost = true })
    return socket
  }) as typeof ConnectTls
  const client = new Client({
    url: `${scheme}://${host}:${ldap.port}`, connectTimeout: ldap.timeoutMs, timeout: ldap.timeoutMs, strictDN: false,
    createSecureConnection: watchedTls,
    ...(ldap.transport === 'ldaps' ? { tlsOptions: tls } : {}),
  })
  const close = async () => {
    // note: on a TLS socket that already closed, ldapts would wait out its timeout for the unbind
    // to be written; nothing is left open, so the answer need not wait for that.
    if (isTlsLost) void closeQuietly(client, ldap.timeoutMs)
    else await closeQuietly(client, ldap.timeoutMs)
  }
  try {
    if (ldap.transport === 'starttls') await bounded(client.startTLS(tls), ldap.timeoutMs, 'StartTLS')
  } catch (error) {
    await close()
    throw describeFailure(error, 'connect', ldap)
  }
  // note: ldapts reconnects by itself when a socket has closed, and a reconnect is never upgraded
  // with StartTLS again: the next bind would send its password in the clear. So once connected,
  // a lost connection ends the conversation instead.
  let hasConnected = ldap.transport === 'starttls'
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    if (hasConnected && (!client.isConnected || isTlsLost)) throw new DirectoryError('unreachable', `The directory closed the connection before the ${name}.`)
    const result = await run()
    hasConnected = true
    return result
  }

  return {
    async bindAsApp() {
      if (ldap.appDn === null) return
      try {
        await step('app bind', () => client.bind(ldap.appDn!, ldap.appPassword ?? ''))
      } catch (error) {
        if (error instanceof InvalidCredentialsError) throw new DirectoryError('app_bind_refused', 'The directory refused the app account: check LDAP_APP_DN and LDAP_APP_PASSWORD.')
        throw describeFailure(error, 'app bind', ldap)
      }
    },
    async searchUsers(filter, attributes, sizeLimit, binaryAttributes = []) {
      try {
        const options = { scope: 'sub' as const, filter, attributes, sizeLimit, timeLimit: Math.ceil(ldap.timeoutMs / 1000), explicitBufferAttributes: binaryAttributes }
        const { searchEntries } = await step('search', () => client.search(ldap.searchBase, options))
        return searchEntries
      } catch (error) {
        throw describeFailure(error, 'search', ldap)
      }
    },
    async bindAsUser(dn, password) {
      try {
        await step('user bind', () => client.bind(dn, password))
        return true
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return false
        throw describeFailure(error, 'user bind', ldap)
      }
    },
    close,
  }
}

/** TLS settings for ldaps:// or StartTLS: the CA file or the system store, the server's name checked. */
function tlsOptionsFor(ldap: LdapConfig): ConnectionOptions {
  return {
    // note: `host` is what the certificate's name is checked against; without it a StartTLS upgrade
    // of an existing socket would check "localhost". SNI can't carry an IP address, so only names get it.
    host: ldap.host,
    ...(ipVersionOf(ldap.host) === 0 ? { servername: ldap.host } : {}),
    rejectUnauthorized: ldap.tls.validateCert,
    ...(ldap.tls.ca === null ? {} : { ca: ldap.tls.ca }),
    ...(ldap.tls.ciphers === null ? {} : { ciphers: ldap.tls.ciphers }),
    minVersion: 'TLSv1.2',
  }
}

const untrustedCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH',
])

/** Turns an ldapts or socket error into a DirectoryError whose message names the step and the cause. */
function describeFailure(error: unknown, step: string, ldap: LdapConfig): DirectoryError {
  if (error instanceof DirectoryError) return error
  const where = `${ldap.transport === 'ldaps' ? 'ldaps' : 'ldap'}://${ldap.host}:${ldap.port}${ldap.transport === 'starttls' ? ' (StartTLS)' : ''}`
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : null
  const message = error instanceof Error ? error.message : String(error)
  if (code !== null && untrustedCodes.has(code)) {
    const hint = /ALTNAME|HOSTNAME/.test(code) ? `its names do not include LDAP_SERVER_HOST (${ldap.host})`
      : ldap.tls.caFile === null ? 'set LDAP_CA_CERT_FILE to the CA that signed it'
      : `it is not signed by the CA in LDAP_CA_CERT_FILE (${ldap.tls.caFile})`
    return new DirectoryError('tls_untrusted', `The certificate of ${where} is not trusted (${code}) during ${step}: ${hint}.`)
  }
  if (/timed? ?out/i.test(message)) return new DirectoryError('timeout', `${where} did not answer within ${ldap.timeoutMs / 1000} s (${step}).`)
  if (code !== null && /^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ETIMEDOUT)$/.test(code)) {
    return new DirectoryError('unreachable', `${where} is unreachable (${code}) during ${step}.`)
  }
  if (/socket|connection|closed/i.test(message)) return new DirectoryError('unreachable', `${where} closed the connection during ${step}.`)
  if (code !== null && /^(ERR_SSL|ERR_TLS|EPROTO)/.test(code)) return new DirectoryError('tls_failed', `TLS with ${where} failed (${code}) during ${step}.`)
  const detail = error instanceof Error ? `${error.name}${message.trim() === '' ? '' : `: ${firstLine(message.trim())}`}` : firstLine(message)
  if (step === 'search') return new DirectoryError('search_failed', `The search under LDAP_SEARCH_BASE failed (${detail}).`)
  return new DirectoryError('unreachable', `${where} failed during ${step} (${detail}).`)
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 200)
}

/** Waits for the step at most `ms`; a step that takes longer is reported as timed out. */
async function bounded<T>(step: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms) })
  try {
    return await Promise.race([step, deadline])
  } finally {
    clearTimeout(timer)
    step.catch(() => {})
  }
}

async function closeQuietly(client: Client, timeoutMs: number): Promise<void> {
  try {
    await bounded(client.unbind(), timeoutMs, 'unbind')
  } catch {
    // note: unbind destroys the socket in its finally; a failure here leaves nothing open.
  }
}
