/**
 * The systemd unit `enclave install-service` writes. It runs Enclave as a dedicated unprivileged
 * user with no capabilities, a read-only view of the system, its own /tmp and /dev, and a system
 * call allow-list; the master key comes in as a systemd credential, never through the environment.
 * `systemd-analyze security` rates it about 1.1 (test/binary/install-service.test.ts checks ≤ 2.0).
 */

export type UnitOptions = {
  /** Absolute path of the enclave executable. */
  binary: string
  /** The system user (and group) the service runs as. */
  user: string
  /** Absolute DATA_DIR; under /var/lib it becomes the unit's StateDirectory. */
  dataDir: string
  /** Absolute directory holding encryption_key (loaded as a credential) and an optional enclave.env. */
  configDir: string
  host: string
  port: number
}

/** Renders the unit file's text; the options must already be validated (install-service-args.ts). */
export function renderSystemdUnit(options: UnitOptions): string {
  const stateDirectory = options.dataDir.startsWith('/var/lib/') ? options.dataDir.slice('/var/lib/'.length) : null
  return `# Enclave as a hardened systemd service, written by \`enclave install-service\`.
# Settings go in ${options.configDir}/enclave.env (KEY=value lines, mode 0600); secrets in files
# read through *_FILE variables or LoadCredential=, never in this file.
[Unit]
Description=Enclave private chat server for local LLMs
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${options.user}
ExecStart=${options.binary} serve
WorkingDirectory=${options.dataDir}
Environment=HOST=${options.host} PORT=${options.port} DATA_DIR=${options.dataDir}
EnvironmentFile=-${options.configDir}/enclave.env
# The master key: systemd copies it into a private directory only this service can read (%d).
LoadCredential=encryption_key:${options.configDir}/encryption_key
Environment=ENCRYPTION_KEY_FILE=%d/encryption_key
# Freed memory goes back to the system after an idle second, not at once: each sign-in's password hash
# takes 19 MiB, which was otherwise faulted in again at every sign-in (as the Docker image sets it).
Environment=MIMALLOC_PURGE_DELAY=1000
${stateDirectory === null ? `ReadWritePaths=${options.dataDir}` : `StateDirectory=${stateDirectory}\nStateDirectoryMode=0700`}
UMask=0077
Restart=on-failure
RestartSec=2s
# SIGTERM lets requests in flight finish (SHUTDOWN_TIMEOUT_SECONDS) and checkpoints the database.
TimeoutStopSec=30s

# Hardening
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
DevicePolicy=closed
PrivateUsers=yes
PrivateIPC=yes
PrivateMounts=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
KeyringMode=private
RemoveIPC=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
# Ollama, LDAP and OIDC are reached over IP; AF_UNIX serves name lookups (nscd, systemd-resolved).
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
# note: no MemoryDenyWriteExecute=yes. Bun's JavaScript engine compiles hot code to machine code
# in memory it maps writable and executable; with that mapping refused it falls back to its
# interpreter (a tight loop ran about 4x slower here) and bun:ffi stops working.

[Install]
WantedBy=multi-user.target
`
}
