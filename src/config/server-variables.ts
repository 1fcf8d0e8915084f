import {
  byteSize, hostName, httpUrl, integerFrom, nonEmptyText, oneOf, path,
} from './parsers.ts'
import type { Variable } from './variable.ts'

/** The server itself: where it listens, where its data and keys live, what it talks to. */
export const serverVariables = {
  PORT: { parse: integerFrom(0, 65535), default: 8080, flag: '--port', doc: 'HTTP port; 0 picks a free one (the log says which).' },
  HOST: {
    parse: hostName('PORT'), default: '127.0.0.1', flag: '--host',
    doc: 'Address to listen on: an IP address or host name, without port or scheme. The binary listens on loopback only unless told otherwise; the Docker image sets 0.0.0.0.',
  },
  DATA_DIR: {
    parse: path, default: './data', flag: '--data-dir',
    doc: 'Directory for the database and key files, created with mode 0700. Relative paths start at the working directory.',
  },
  WEBUI_NAME: { parse: nonEmptyText, default: 'Enclave', doc: 'Name shown in the UI and the API.' },
  WEBUI_URL: { parse: httpUrl, default: null, doc: 'Public URL of this server, when it runs behind a proxy. Required with single sign-on (unless each provider has its own *_REDIRECT_URI): callback URLs are built from it, never from a request\'s Host header.' },
  WEBUI_SECRET_KEY: {
    parse: nonEmptyText, default: null, secret: true, otherName: { name: 'JWT_SECRET', product: 'Libre WebUI' },
    doc: 'Secret that signs sessions. When unset, 32 random bytes are generated once into DATA_DIR/.webui_secret_key (0600).',
  },
  WEBUI_SECRET_KEY_FILE: {
    parse: path, default: null,
    doc: 'File holding WEBUI_SECRET_KEY (e.g. a mounted secret; it must not be readable by group or others). Several instances need the same secret.',
  },
  WEBUI_JWT_SECRET_KEY: {
    parse: nonEmptyText, default: null, secret: true, doc: 'Older name of WEBUI_SECRET_KEY, read when that is unset.',
  },
  ENCRYPTION_KEY: {
    parse: nonEmptyText, default: null, secret: true,
    doc: 'Master key: 64 hex characters (32 bytes), or a passphrase of at least 32 characters (stretched with scrypt). When neither this nor ENCRYPTION_KEY_FILE is set, a key is generated once into DATA_DIR/.encryption_key (0600).',
  },
  ENCRYPTION_KEY_FILE: {
    parse: path, default: null,
    doc: 'File holding the master key in the same form as ENCRYPTION_KEY. It must not be readable by group or others.',
  },
  GLOBAL_LOG_LEVEL: {
    parse: oneOf(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']), default: 'INFO', doc: 'Least severe log level written.',
  },
  MAX_REQUEST_BODY_SIZE: {
    parse: byteSize, default: 16 * 1024 * 1024, doc: 'Largest request body accepted (e.g. 16mb); larger ones get 413.',
  },
  SHUTDOWN_TIMEOUT_SECONDS: {
    parse: integerFrom(0, 600), default: 10,
    doc: 'How long a stopping server waits for requests in flight before it closes the database.',
  },
} as const satisfies Record<string, Variable<unknown>>
