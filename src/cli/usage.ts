export const USAGE = `Usage: enclave [command] [options]

Commands:
  serve          Start the server (the default)
  config         Print the effective configuration, secrets masked
  healthcheck    Exit 0 when the local server answers /health, else 1
  install-service [--print] [--binary P] [--user U] [--data-dir D] [--config-dir C] [--unit-dir U] [--host H] [--port N]
                 Install as a hardened systemd service (as root); --print only prints the unit
  version        Print the version (also --version)
  help           Print this help (also --help)

Options (override the environment and .env):
  --port N         PORT, default 8080
  --host ADDR      HOST, default 127.0.0.1
  --data-dir DIR   DATA_DIR, default ./data

Every setting can also be given as an environment variable or in ./.env; see the README.
`
