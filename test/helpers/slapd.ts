/**
 * A throwaway OpenLDAP server for the LDAP suites, on loopback only: its own directory under the
 * system temp dir, a CA and server certificate made with openssl (SAN localhost and 127.0.0.1), an
 * mdb database with the memberof overlay, people and groups, plain LDAP with StartTLS and LDAPS on
 * free ports. Fixture passwords are generated for each run. Stopped by PID, never by name.
 *
 * Needs the Debian packages slapd and ldap-utils (CI installs them; see .ci/run) and openssl.
 * Besides 127.0.0.1, slapd also listens on 127.0.0.2, a loopback address its certificate does not
 * name, so a suite can check that the name is verified.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Change, Attribute, Client } from 'ldapts'

const SLAPD = '/usr/sbin/slapd'
const SLAPADD = '/usr/sbin/slapadd'
export const BASE_DN = 'dc=example,dc=org'
const ROOT_DN = `cn=admin,${BASE_DN}`
const APP_DN = `cn=app,${BASE_DN}`
export const PEOPLE_DN = `ou=people,${BASE_DN}`
export const GROUPS_DN = `ou=groups,${BASE_DN}`

export type FixtureUser = { uid: string; dn: string; password: string; mail: string | null; cn: string }

/** People in the directory; groups: admins (alice), chatters (alice, bob); carol is in none. */
const PEOPLE: { uid: string; cn: string; mail: string | null; ou?: string }[] = [
  { uid: 'alice', cn: 'Alice Admin', mail: 'alice@example.org' },
  { uid: 'bob', cn: 'Bob Builder', mail: 'bob@example.org' },
  { uid: 'carol', cn: 'Carol Chat', mail: 'carol@example.org' },
  { uid: 'erin', cn: 'Erin Local', mail: 'erin@example.org' },
  { uid: 'nomail', cn: 'No Mail', mail: null },
  { uid: 'twin', cn: 'Twin One', mail: 'twin1@example.org' },
  { uid: 'twin', cn: 'Twin Two', mail: 'twin2@example.org', ou: 'contractors' },
]
const GROUPS: Record<string, string[]> = { admins: ['alice'], chatters: ['alice', 'bob'] }

export type LdapMode = 'plain' | 'ldaps' | 'starttls'

export type Slapd = Awaited<ReturnType<typeof startSlapd>>

/** Creates and starts a directory; call stopSlapd / remove() when done (afterAll). */
export async function startSlapd() {
  for (const binary of [SLAPD, SLAPADD, '/usr/bin/openssl']) {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: install the Debian packages slapd, ldap-utils and openssl (see .ci/run)`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'enclave-slapd-'))
  makeCertificates(dir)
  const rootPassword = secret()
  const appPassword = secret()
  const users: Record<string, FixtureUser> = {}
  for (const person of PEOPLE) {
    const dn = `uid=${person.uid},ou=${person.ou ?? 'people'},${BASE_DN}`
    const key = person.ou === undefined ? person.uid : `${person.uid}@${person.ou}`
    users[key] = { uid: person.uid, dn, password: secret(), mail: person.mail, cn: person.cn }
  }
  writeFileSync(join(dir, 'slapd.conf'), slapdConf(dir, rootPassword))
  writeFileSync(join(dir, 'base.ldif'), baseLdif(appPassword, users))
  run([SLAPADD, '-q', '-f', join(dir, 'slapd.conf'), '-l', join(dir, 'base.ldif')], 'slapadd')

  let ports = await freePorts()
  let child: ReturnType<typeof Bun.spawn> | null = null
  let isPaused = false

  const launch = async () => {
    for (let attempt = 0; ; attempt++) {
      child = Bun.spawn([SLAPD, '-d', 'stats', '-f', join(dir, 'slapd.conf'), '-h', listenUrls(ports)], {
        // note: -d keeps slapd in the foreground and writes its log to stderr.
        stdout: 'ignore', stderr: Bun.file(join(dir, `slapd-${Date.now()}.log`)), stdin: 'ignore',
      })
      if (await waitReady(ports.ldap, child)) return
      child.kill('SIGKILL')
      await child.exited
      // note: another test may have taken a probed port in between; probe again, a few times.
      if (attempt >= 3) throw new Error(`slapd did not start (logs in ${dir})`)
      ports = await freePorts()
    }
  }
  await launch()

  const urlOf = (mode: LdapMode, host = '127.0.0.1') => `${mode === 'ldaps' ? 'ldaps' : 'ldap'}://${host}:${mode === 'ldaps' ? ports.ldaps : ports.ldap}`
  /** Runs `fn` with a client bound as the directory's root, to change entries during a test. */
  const asRoot = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ url: urlOf('plain'), connectTimeout: 3000, timeout: 5000 })
    try {
      await client.bind(ROOT_DN, rootPassword)
      return await fn(client)
    } finally {
      await client.unbind().catch(() => {})
    }
  }
  // note: groups are added online, after the start, so the memberof overlay fills memberOf.
  await asRoot(async (client) => {
    for (const [cn, members] of Object.entries(GROUPS)) {
      // note: groupOfNames needs a member, so the app account stays in each group as a placeholder.
      await client.add(`cn=${cn},${GROUPS_DN}`, { objectClass: 'groupOfNames', cn, member: [APP_DN, ...members.map((uid) => users[uid]!.dn)] })
    }
  })

  return {
    dir,
    host: '127.0.0.1',
    get ports() { return { ...ports } },
    caFile: join(dir, 'ca.crt'),
    otherCaFile: join(dir, 'other-ca.crt'),
    appDn: APP_DN,
    appPassword,
    users,
    urlOf,
    asRoot,

    /** The environment that points Enclave at this directory over the given transport. */
    env(mode: LdapMode, extra: Record<string, string> = {}): Record<string, string> {
      return {
        ENABLE_LDAP: 'true', LDAP_SERVER_HOST: '127.0.0.1', LDAP_SERVER_PORT: String(mode === 'ldaps' ? ports.ldaps : ports.ldap),
        LDAP_USE_TLS: String(mode === 'ldaps'), LDAP_USE_STARTTLS: String(mode === 'starttls'),
        ...(mode === 'plain' ? {} : { LDAP_CA_CERT_FILE: join(dir, 'ca.crt') }),
        LDAP_APP_DN: APP_DN, LDAP_APP_PASSWORD: appPassword, LDAP_SEARCH_BASE: BASE_DN,
        ...extra,
      }
    },

    /** Adds or removes a member of a group (the memberof overlay updates the user's memberOf). */
    async setMembership(group: string, uid: string, isMember: boolean) {
      await asRoot((client) => client.modify(`cn=${group},${GROUPS_DN}`, new Change({
        operation: isMember ? 'add' : 'delete', modification: new Attribute({ type: 'member', values: [users[uid]!.dn] }),
      })))
    },

    /** Replaces one attribute of a user's entry. */
    async setAttribute(uid: string, type: string, value: string) {
      await asRoot((client) => client.modify(users[uid]!.dn, new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) })))
    },

    /** Stops slapd (SIGTERM to its PID) and waits for it to exit. */
    async stop() {
      if (child === null) return
      if (isPaused) this.resume()
      child.kill('SIGTERM')
      await child.exited
      child = null
    },

    /** Starts it again on the same ports with the same data. */
    async restart() {
      if (child === null) await launch()
    },

    /** Freezes slapd (SIGSTOP): connections are accepted by the kernel but never answered. */
    pause() {
      child?.kill('SIGSTOP')
      isPaused = true
    },

    resume() {
      child?.kill('SIGCONT')
      isPaused = false
    },

    /** Stops slapd and deletes its directory. */
    async remove() {
      await this.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A fixture password: random for every run, so none is written into the repository. */
function secret(): string {
  return `fx-${randomBytes(12).toString('base64url')}`
}

/** RFC 2307 {SSHA}: base64(SHA-1(password + salt) + salt). */
function sshaHash(password: string): string {
  const salt = randomBytes(8)
  const digest = createHash('sha1').update(password).update(salt).digest()
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`
}

function run(command: string[], what: string): void {
  const result = Bun.spawnSync(command, { stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) throw new Error(`${what} failed (exit ${result.exitCode}): ${result.stderr.toString()}`)
}

/** A CA, a second CA that signed nothing here, and a server certificate (P-256 keys: quick to make). */
function makeCertificates(dir: string): void {
  const at = (file: string) => join(dir, file)
  const openssl = (...args: string[]) => run(['/usr/bin/openssl', ...args], `openssl ${args[0]}`)
  for (const name of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=Enclave test ${name}`, '-keyout', at(`${name}.key`), '-out', at(`${name}.crt`),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
  }
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', at('server.key'), '-out', at('server.csr'))
  writeFileSync(at('server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', at('server.ext'), '-out', at('server.crt'))
}

function slapdConf(dir: string, rootPassword: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
TLSCACertificateFile ${join(dir, 'ca.crt')}
TLSCertificateFile ${join(dir, 'server.crt')}
TLSCertificateKeyFile ${join(dir, 'server.key')}

database mdb
maxsize 67108864
suffix "${BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${sshaHash(rootPassword)}
directory ${dir}
index objectClass eq
index uid,mail,cn eq
index member,memberOf eq
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="${APP_DN}" read by self read by users read by * none
`
}

function baseLdif(appPassword: string, users: Record<string, FixtureUser>): string {
  const entries = [
    `dn: ${BASE_DN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example`,
    `dn: ${APP_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: app\nuserPassword: ${sshaHash(appPassword)}`,
    `dn: ${PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=contractors,${BASE_DN}\nobjectClass: organizationalUnit\nou: contractors`,
    `dn: ${GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups`,
    ...Object.values(users).map((user) => [
      `dn: ${user.dn}`, 'objectClass: inetOrgPerson', `uid: ${user.uid}`, `cn: ${user.cn}`, `sn: ${user.cn.split(' ').at(-1)}`,
      ...(user.mail === null ? [] : [`mail: ${user.mail}`]), `userPassword: ${sshaHash(user.password)}`,
    ].join('\n')),
  ]
  return `${entries.join('\n\n')}\n`
}

function listenUrls(ports: { ldap: number; ldaps: number }): string {
  return ['127.0.0.1', '127.0.0.2'].flatMap((host) => [`ldap://${host}:${ports.ldap}/`, `ldaps://${host}:${ports.ldaps}/`]).join(' ')
}

/** Two ports free on 127.0.0.1 (and, being unusual, almost surely on 127.0.0.2), from the kernel. */
async function freePorts(): Promise<{ ldap: number; ldaps: number }> {
  const take = () => {
    const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const port = listener.port
    return { port, release: () => listener.stop(true) }
  }
  const a = take()
  const b = take()
  a.release()
  b.release()
  return { ldap: a.port, ldaps: b.port }
}

/** Waits until slapd answers a root DSE search, or exits; true when it is ready. */
async function waitReady(port: number, child: ReturnType<typeof Bun.spawn>): Promise<boolean> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false
    const client = new Client({ url: `ldap://127.0.0.1:${port}`, connectTimeout: 500, timeout: 1000 })
    try {
      await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['namingContexts'] })
      return true
    } catch {
      await Bun.sleep(50)
    } finally {
      await client.unbind().catch(() => {})
    }
  }
  return false
}
