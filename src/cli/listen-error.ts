/**
 * Why the server could not listen, in one sentence that names the problem and the fix, instead
 * of the operating system's `permission denied 127.0.0.1:80` or `getaddrinfo ENOTFOUND`.
 */

/** A listen that failed; the message is written for operators and holds no stack. */
export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ListenError'
  }
}

/** Maps a failed listen on host:port to a ListenError, or returns the error as it is when it isn't one we know. */
export function listenFailure(error: unknown, host: string, port: number): unknown {
  const described = describeListenError((error as { code?: unknown } | null)?.code, host, port)
  return described === null ? error : new ListenError(described, { cause: error })
}

function describeListenError(code: unknown, host: string, port: number): string | null {
  switch (code) {
    case 'EACCES':
      if (port > 0 && port < 1024 && process.getuid?.() !== 0) {
        return `port ${port} needs privileges: use a port ≥1024 behind a proxy, or grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on the binary, or AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit).`
      }
      return `cannot listen on ${host} port ${port}: permission denied. Check that HOST is an address of this machine (127.0.0.1, 0.0.0.0 or one of its own).`
    case 'EADDRINUSE':
      return `port ${port} is already in use: stop the other server or choose another PORT.`
    case 'EADDRNOTAVAIL':
      return `HOST=${host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 (every interface) or one of this machine's addresses.`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENOENT': // note: Bun's listen reports a host name that does not resolve this way
      return `HOST=${host} does not resolve to an address: use an IP address, or a name this machine resolves.`
    default:
      return null
  }
}
