/**
 * docker-compose.scale.yml and deploy/nginx-several-instances.conf without a Docker engine: the
 * compose file parsed and its invariants checked (three instances from the repo's Dockerfile on one
 * PostgreSQL and one Redis, the master key and session secret shared as file secrets, no secret
 * inline, a DATA_DIR each, one files volume, nginx alone published, on loopback, and trusted as the
 * proxy), and the nginx config checked by Debian's `nginx -t` and run for real in front of the
 * compiled binary (several-instances-proxy.test.ts runs it with three).
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { variables } from '../../src/config/variables.ts'
import { tempDirsRemovedAfterAll } from '../helpers/binary.ts'
import { deployNginxBody } from '../helpers/cluster.ts'
import { NGINX, nginxConf } from '../helpers/nginx.ts'

const root = join(import.meta.dir, '..', '..')
const tempDir = tempDirsRemovedAfterAll()
const composeText = readFileSync(join(root, 'docker-compose.scale.yml'), 'utf8')
const nginxText = readFileSync(join(root, 'deploy', 'nginx-several-instances.conf'), 'utf8')

type Service = {
  build?: { context: string }; image?: string; environment?: Record<string, string>; env_file?: string[]; secrets?: string[]
  volumes?: string[]; ports?: string[]; depends_on?: Record<string, { condition: string }>; networks?: Record<string, { ipv4_address?: string } | null>
  read_only?: boolean; cap_drop?: string[]
}
const compose = Bun.YAML.parse(composeText) as { services: Record<string, Service>; secrets: Record<string, { file: string }>; volumes: Record<string, unknown> }
const instances = ['enclave-1', 'enclave-2', 'enclave-3'].map((name) => [name, compose.services[name]!] as const)

describe('docker-compose.scale.yml', () => {
  test('PostgreSQL, Redis, three Enclave instances from the repo\'s Dockerfile, and nginx', () => {
    for (const name of ['postgres', 'redis', 'enclave-1', 'enclave-2', 'enclave-3', 'nginx']) expect(compose.services[name]).toBeDefined()
    for (const [, service] of instances) {
      expect(service.build?.context).toBe('.')
      expect(service.read_only).toBe(true)
      expect(service.cap_drop).toEqual(['ALL'])
    }
    expect(compose.services.postgres!.image).toMatch(/^postgres:\d+/)
    expect(compose.services.redis!.image).toMatch(/^redis:\d+/)
  })

  test('every instance shares the master key and the session secret as file secrets, and one Redis, one database, one key prefix', () => {
    const shared = (service: Service) => {
      const env = service.environment!
      return { key: env.ENCRYPTION_KEY_FILE, secret: env.WEBUI_SECRET_KEY_FILE, redis: env.REDIS_URL, prefix: env.REDIS_KEY_PREFIX, manager: env.WEBSOCKET_MANAGER, database: service.env_file }
    }
    const first = shared(instances[0]![1])
    expect(first).toEqual({ key: '/run/secrets/encryption_key', secret: '/run/secrets/webui_secret_key', redis: 'redis://redis:6379/0', prefix: 'enclave', manager: 'redis', database: ['./secrets/database.env'] })
    for (const [, service] of instances) {
      expect(shared(service)).toEqual(first)
      expect(service.secrets).toEqual(expect.arrayContaining(['encryption_key', 'webui_secret_key']))
    }
    for (const name of ['encryption_key', 'webui_secret_key', 'admin_password', 'postgres_password']) expect(compose.secrets[name]!.file).toBe(`./secrets/${name}`)
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('secrets/')
  })

  test('no secret inline: no key, secret, password or database URL in any environment', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        expect(`${name}.${variable}`).not.toMatch(/\.(ENCRYPTION_KEY|WEBUI_SECRET_KEY|WEBUI_JWT_SECRET_KEY|WEBUI_ADMIN_PASSWORD|POSTGRES_PASSWORD|DATABASE_URL)$/)
        expect(String(value)).not.toMatch(/:\/\/[^/@\s]+:[^/@\s]+@/)
      }
    }
  })

  test('every setting given to an instance is one Enclave knows', () => {
    for (const [, service] of instances) for (const variable of Object.keys(service.environment!)) expect(Object.keys(variables)).toContain(variable)
  })

  test('each instance has a DATA_DIR of its own; the uploaded files\' volume is one, shared', () => {
    const dataVolumes = instances.map(([, service]) => service.volumes!.find((volume) => volume.endsWith(':/data'))!)
    expect(new Set(dataVolumes).size).toBe(3)
    for (const [, service] of instances) expect(service.volumes).toContain('enclave-files:/data/files')
    for (const volume of [...dataVolumes.map((each) => each.split(':')[0]!), 'enclave-files', 'postgres-data']) expect(Object.keys(compose.volumes)).toContain(volume)
  })

  test('only nginx is published, on loopback; the instances trust its address alone as the proxy', () => {
    for (const [name, service] of Object.entries(compose.services)) if (name !== 'nginx') expect(service.ports).toBeUndefined()
    const nginx = compose.services.nginx!
    expect(nginx.ports).toEqual(['127.0.0.1:8080:80'])
    expect(nginx.volumes).toContain('./deploy/nginx-several-instances.conf:/etc/nginx/conf.d/default.conf:ro')
    const address = nginx.networks!.enclave!.ipv4_address
    for (const [, service] of instances) expect(service.environment!.FORWARDED_ALLOW_IPS).toBe(address!)
  })

  test('the first admin is made by one instance alone, before the others start', () => {
    expect(instances[0]![1].environment!.WEBUI_ADMIN_PASSWORD_FILE).toBe('/run/secrets/admin_password')
    for (const [, service] of instances.slice(1)) {
      expect(service.environment!.WEBUI_ADMIN_EMAIL).toBeUndefined()
      expect(service.depends_on!['enclave-1']).toEqual({ condition: 'service_healthy' })
    }
  })
})

describe('deploy/nginx-several-instances.conf', () => {
  test('round robin over the three compose instances, with no stickiness', () => {
    expect([...nginxText.matchAll(/^ {4}server (enclave-\d):8080 /gm)].map((match) => match[1])).toEqual(['enclave-1', 'enclave-2', 'enclave-3'])
    const directives = nginxText.split('\n').filter((line) => !line.trim().startsWith('#')).join('\n')
    for (const sticky of ['ip_hash', 'hash ', 'sticky', 'least_conn']) expect(directives).not.toContain(sticky)
  })

  test('upgrades the WebSocket, streams without buffering, and passes 503s on without marking instances down', () => {
    for (const line of ['proxy_set_header Upgrade $http_upgrade;', 'proxy_set_header Connection $connection_upgrade;', 'proxy_http_version 1.1;', 'proxy_buffering off;', 'proxy_next_upstream error timeout;']) {
      expect(nginxText).toContain(line)
    }
  })

  test('keeps idle connections to the instances for plain requests, closed before their 30 s idle timeout', () => {
    const directives = nginxText.split('\n').filter((line) => !line.trim().startsWith('#')).join('\n')
    const upstream = /upstream enclave \{([^}]*)\}/.exec(directives)![1]!
    expect(upstream).toMatch(/^ {4}keepalive \d+;$/m)
    const idle = /^ {4}keepalive_timeout (\d+)s;$/m.exec(upstream)
    expect(Number(idle?.[1])).toBeLessThan(30)
    // note: a request without Upgrade must not send "Connection: close" (that ends each connection after one answer); nginx omits an empty header.
    expect(/map \$http_upgrade \$connection_upgrade \{([^}]*)\}/.exec(directives)![1]).toMatch(/^ {4}'' {6}'';$/m)
  })

  test('nginx -t accepts it (the upstream names pointed at loopback)', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'logs'), { recursive: true })
    const confFile = join(dir, 'nginx.conf')
    await Bun.write(confFile, nginxConf(dir, deployNginxBody([18081, 18082, 18083], 18080)))
    const checked = Bun.spawnSync([NGINX, '-t', '-p', dir, '-e', join(dir, 'error.log'), '-c', confFile], { stdout: 'pipe', stderr: 'pipe' })
    expect(checked.stderr.toString()).toContain('test is successful')
    expect(checked.exitCode).toBe(0)
  })
})
