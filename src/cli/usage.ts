export const USAGE = `Usage: enclave [command] [options]

Commands:
  serve          Start the server (the default)
  config         Print the effective configuration, secrets masked
  healthcheck    Exit 0 when the local server answers /health, else 1
  install-service [--print] [--binary P] [--user U] [--data-dir D] [--config-dir C] [--unit-dir U] [--host H] [--port N]
                 Install as a hardened systemd service (as root); --print only prints the unit
  version        Print the version (also --version)
  help           Print this help (also --help)

Keys and data (see docs/keys-and-backups.md):
  keys status                      Key source, fingerprints, key check, counts per key version
  keys verify                      Open every encrypted field read-only; exit 1 if any fails
  keys rotate --new-key-file F     Re-wrap every data key under a new master key (server stopped)
  keys rotate-data [--user ID]     Re-encrypt rows under new data keys (server stopped)
  backup FILE [--passphrase-file P] [--force]
                                   Consistent snapshot, also while the server runs
  restore FILE --data-dir D [--passphrase-file P] [--force]
                                   Check a backup, then restore it into D
                                   (with DATABASE_URL: back up / restore PostgreSQL, same format)
  migrate-db --to URL|PATH         Copy the store to an empty PostgreSQL database (from DATA_DIR),
                                   or with DATABASE_URL back to a new SQLite file; see docs/postgresql.md
  import open-webui PATH           Import users and chats from Open WebUI's webui.db
  import libre-webui --from DIR [--encryption-key-file F]
                                   Import users, chats and preferences from Libre WebUI's
                                   data.sqlite, opened with its key (or LIBRE_WEBUI_ENCRYPTION_KEY)
  users reset-mfa EMAIL            Remove an account's second factors (authenticator app, recovery
                                   codes, passkeys), e.g. when its owner lost them
  With DATABASE_URL, each of these works on that PostgreSQL database; keys rotate and
  rotate-data refuse while instances run on it (docs/postgresql.md)

Accounts (server stopped, or with DATABASE_URL beside running instances; see docs/accounts.md):
  users list                       Every account: email, role, name, created, last seen
  users reset-password EMAIL       Set a new password, read from stdin or typed at the prompt
                                   (never an argument); ends that account's sessions; audited

Options (override the environment and .env):
  --port N         PORT, default 8080
  --host ADDR      HOST, default 127.0.0.1
  --data-dir DIR   DATA_DIR, default ./data

Every setting can also be given as an environment variable or in ./.env; see docs/configuration.md.
`

/** A usage error as printed: the usage first, then the one line that says what was wrong, last, where the eye lands. */
export function formatUsageError(problem: string): string {
  return `${USAGE}\nenclave: ${problem}\n`
}
