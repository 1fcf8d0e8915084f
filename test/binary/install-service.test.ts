/**
 * `enclave install-service`: the unit passes `systemd-analyze verify`, rates ≤ 2.0 in
 * `systemd-analyze security`, and an install as root creates a real system user, its data
 * directory and a root-only key file; that user can then run the server with the unit's settings.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { binaryForAnyUser, runBinary, startBinary, tempDirsRemovedAfterAll } from '../helpers/binary.ts'

const tempDir = tempDirsRemovedAfterAll()
const sh = (command: string[]) => {
  const run = Bun.spawnSync(command, { stdout: 'pipe', stderr: 'pipe' })
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() }
}
const modeOf = (path: string) => statSync(path).mode & 0o777
// The service user and nobody run the binary below, so it must sit where they can reach it.
const binary = binaryForAnyUser(tempDir)

describe('--print', () => {
  test('prints the unit, writes nothing, and needs no root', async () => {
    const dir = tempDir()
    const asRoot = await runBinary(['install-service', '--print', '--unit-dir', dir, '--config-dir', join(dir, 'etc'), '--data-dir', join(dir, 'data')], { cwd: dir })
    expect(asRoot.code).toBe(0)
    expect(asRoot.stdout).toStartWith('# Enclave as a hardened systemd service')
    expect(readdirSync(dir)).toEqual([])
    const asNobody = sh(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', binary, 'install-service', '--print'])
    expect(asNobody.code).toBe(0)
    expect(asNobody.stdout).toContain(`ExecStart=${binary} serve`)
  })

  test.each(['/home/ada/enclave', '/root/bin/enclave', '/tmp/enclave'])('warns when the binary is in %s, which the unit hides from the service', async (binary) => {
    const run = await runBinary(['install-service', '--print', '--binary', binary], { cwd: tempDir() })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`ExecStart=${binary} serve`)
    expect(run.stderr).toContain(`warning: the service cannot see ${binary}`)
  })

  test('the unit has the hardening the issue asks for, and no MemoryDenyWriteExecute', async () => {
    const unit = (await runBinary(['install-service', '--print'], { cwd: tempDir() })).stdout
    for (const line of ['User=enclave', 'StateDirectory=enclave', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes',
      'NoNewPrivileges=yes', 'CapabilityBoundingSet=\n', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'SystemCallFilter=@system-service',
      'LoadCredential=encryption_key:/etc/enclave/encryption_key', 'Environment=ENCRYPTION_KEY_FILE=%d/encryption_key', 'WorkingDirectory=/var/lib/enclave',
      'Environment=MIMALLOC_PURGE_DELAY=1000']) {
      expect(unit).toContain(line)
    }
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m)
    expect(unit).not.toMatch(/^Environment=.*(KEY|SECRET|PASSWORD)=(?!%d\/)/m)
  })

  test.each([
    ['in /var/lib (StateDirectory)', '/var/lib/enclave'],
    ['elsewhere (ReadWritePaths)', '/srv/enclave'],
  ])('with the data %s: systemd-analyze verify is clean and the exposure is at most 2.0', async (_, dataDir) => {
    const dir = tempDir()
    const unit = (await runBinary(['install-service', '--print', '--data-dir', dataDir], { cwd: dir })).stdout
    expect(unit).toContain(dataDir.startsWith('/var/lib/') ? 'StateDirectory=enclave' : `ReadWritePaths=${dataDir}`)
    const unitFile = join(dir, 'enclave.service')
    writeFileSync(unitFile, unit)
    const verify = sh(['systemd-analyze', 'verify', unitFile])
    expect(verify.stderr + verify.stdout).toBe('')
    expect(verify.code).toBe(0)
    const security = sh(['systemd-analyze', 'security', '--offline=yes', '--threshold=20', '--no-pager', unitFile])
    const exposure = Number(/Overall exposure level for enclave\.service: (\d+\.\d)/.exec(security.stdout)?.[1])
    console.log(`systemd-analyze security exposure (data ${dataDir}): ${exposure}`)
    expect(exposure).toBeLessThanOrEqual(2.0)
    expect(security.code).toBe(0)
  })
})

describe('installing', () => {
  test('refuses clearly when not root, and changes nothing', () => {
    const dir = tempDir()
    chmodSync(dir, 0o777)
    const run = sh(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', binary, 'install-service', '--unit-dir', dir, '--config-dir', join(dir, 'etc'), '--data-dir', join(dir, 'data')])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('must run as root')
    expect(run.stderr).toContain('--print')
    expect(readdirSync(dir)).toEqual([])
  })

  test.each([
    [['--user', 'root'], '--user must be a plain system user name'],
    [['--data-dir', 'relative/data'], '--data-dir must be an absolute path'],
    [['--unit-dir', '/tmp/x\nExecStartPre=/bin/sh'], '--unit-dir must be an absolute path'],
    [['--print', '--port', '0'], '--port must be an integer'],
    [['--nonsense'], 'unknown option'],
  ])('%p exits 2 with the reason', async (args, problem) => {
    const run = await runBinary(['install-service', ...args], { cwd: tempDir() })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(problem)
    expect(run.stdout).toBe('')
  })

  test.each([
    ['--data-dir', 'a directory holding other files', (dir: string) => writeFileSync(join(dir, 'passwd'), 'root:x:0:0\n')],
    ['--config-dir', 'a directory holding other files', (dir: string) => writeFileSync(join(dir, 'hosts'), '127.0.0.1 localhost\n')],
    ['--data-dir', 'a file', null],
  ] as const)('as root, %s naming %s is refused before anything changes', async (flag, _, fill) => {
    const base = tempDir()
    const target = join(base, 'target')
    if (fill === null) writeFileSync(target, 'x')
    else {
      mkdirSync(target, { mode: 0o755 })
      fill(target)
    }
    const other = flag === '--data-dir' ? ['--config-dir', join(base, 'etc')] : ['--data-dir', join(base, 'data')]
    const run = await runBinary(['install-service', '--user', 'enc-never-made', '--unit-dir', join(base, 'units'), flag, target, ...other], { cwd: base })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${flag} ${target}`)
    expect(sh(['getent', 'passwd', 'enc-never-made']).code).not.toBe(0)
    expect(readdirSync(base).sort()).toEqual(['target'])
    if (fill !== null) expect(modeOf(target)).toBe(0o755)
  })

  const user = `enc-t-${crypto.randomUUID().slice(0, 8)}`
  afterAll(() => {
    Bun.spawnSync(['userdel', user], { stdout: 'ignore', stderr: 'ignore' })
  })
  const root = tempDir()
  chmodSync(root, 0o711)
  const paths = { unitDir: join(root, 'units'), configDir: join(root, 'etc'), dataDir: join(root, 'data') }
  const args = ['install-service', '--binary', binary, '--user', user, '--unit-dir', paths.unitDir, '--config-dir', paths.configDir, '--data-dir', paths.dataDir]

  test('as root: creates the system user, its 0700 data directory, a root-only key and the unit', async () => {
    const run = await runBinary(args, { cwd: root })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('systemctl daemon-reload')
    expect(run.stdout).toContain('systemctl enable --now enclave.service')
    const account = sh(['getent', 'passwd', user]).stdout.trim().split(':')
    expect(Number(account[2])).toBeGreaterThan(0)
    expect(Number(account[2])).toBeLessThan(1000) // a system account
    expect(account[6]).toMatch(/nologin|false/)
    const data = statSync(paths.dataDir)
    expect([data.uid, data.gid, data.mode & 0o777]).toEqual([Number(account[2]), Number(account[3]), 0o700])
    const keyFile = join(paths.configDir, 'encryption_key')
    expect(statSync(keyFile).uid).toBe(0)
    expect(modeOf(keyFile)).toBe(0o600)
    expect(modeOf(paths.configDir)).toBe(0o700)
    const key = readFileSync(keyFile, 'utf8')
    expect(key).toMatch(/^[0-9a-f]{64}\n$/)
    expect(run.output).not.toContain(key.trim())
    const unitPath = join(paths.unitDir, 'enclave.service')
    expect(modeOf(unitPath)).toBe(0o644)
    const printed = await runBinary([...args, '--print'], { cwd: root })
    expect(readFileSync(unitPath, 'utf8')).toBe(printed.stdout)
  })

  test('a second run keeps the user and the key', async () => {
    const keyBefore = readFileSync(join(paths.configDir, 'encryption_key'), 'utf8')
    const uidBefore = statSync(paths.dataDir).uid
    const run = await runBinary(args, { cwd: root })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('master key: kept')
    expect(readFileSync(join(paths.configDir, 'encryption_key'), 'utf8')).toBe(keyBefore)
    expect(statSync(paths.dataDir).uid).toBe(uidBefore)
  })

  test('that user runs the server with the unit\'s settings and the key handed over as systemd would', async () => {
    // What systemd does at start: LoadCredential copies the key, readable by the service user only.
    const credentials = join(root, 'credentials')
    mkdirSync(credentials, { mode: 0o700 })
    const { uid, gid } = statSync(paths.dataDir)
    copyFileSync(join(paths.configDir, 'encryption_key'), join(credentials, 'encryption_key'))
    chmodSync(join(credentials, 'encryption_key'), 0o400)
    chownSync(join(credentials, 'encryption_key'), uid, gid)
    chownSync(credentials, uid, gid)

    const unit = readFileSync(join(paths.unitDir, 'enclave.service'), 'utf8')
    const env: Record<string, string> = {}
    for (const [, assignments] of unit.matchAll(/^Environment=(.*)$/gm)) {
      for (const assignment of assignments!.split(' ')) env[assignment.slice(0, assignment.indexOf('='))] = assignment.slice(assignment.indexOf('=') + 1).replace('%d', credentials)
    }
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: '8080', DATA_DIR: paths.dataDir, ENCRYPTION_KEY_FILE: join(credentials, 'encryption_key') })
    expect(/^ExecStart=(.*)$/m.exec(unit)?.[1]).toBe(`${binary} serve`)
    const server = await startBinary({
      cwd: paths.dataDir, env, binary, wrapper: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'],
    })
    try {
      expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: true })
    } finally {
      expect(await server.stop()).toBe(0)
    }
    expect(server.output()).toContain(`master key from ENCRYPTION_KEY_FILE`)
    expect(existsSync(join(paths.dataDir, '.encryption_key'))).toBe(false)
    const database = statSync(join(paths.dataDir, 'enclave.db'))
    expect([database.uid, database.mode & 0o777]).toEqual([uid, 0o600])
  })

  test('takes over a data directory an earlier run made as root: its files and its key', async () => {
    const base = tempDir()
    chmodSync(base, 0o711)
    const dataDir = join(base, 'data')
    const earlier = await startBinary({ cwd: base, env: { DATA_DIR: dataDir } })
    await earlier.stop()
    const key = readFileSync(join(dataDir, '.encryption_key'), 'utf8')
    const takeover = `enc-t-${crypto.randomUUID().slice(0, 8)}`
    try {
      const run = await runBinary(['install-service', '--user', takeover, '--unit-dir', join(base, 'units'), '--config-dir', join(base, 'etc'), '--data-dir', dataDir], { cwd: base })
      expect(run.code).toBe(0)
      expect(run.stdout).toContain('master key: copied')
      expect(readFileSync(join(base, 'etc', 'encryption_key'), 'utf8')).toBe(key)
      const uid = Number(sh(['id', '-u', takeover]).stdout.trim())
      for (const name of readdirSync(dataDir)) expect([name, statSync(join(dataDir, name)).uid]).toEqual([name, uid])
    } finally {
      Bun.spawnSync(['userdel', takeover], { stdout: 'ignore', stderr: 'ignore' })
    }
  })
})
