/**
 * Which sockets each user has open, so a frame for a user reaches all of their sockets (every tab
 * and device) and nobody else's. Knows users and sockets, not HTTP or Ollama (cf. PocketBase's
 * subscriptions.Broker).
 */
import type { UserId } from '../db/ids.ts'

/** The part of a socket the hub uses; Bun's ServerWebSocket fits. */
export type HubSocket = { send(text: string): unknown }

/** A class because it is state with an identity: one hub per server. */
export class SocketHub<Socket extends HubSocket = HubSocket> {
  readonly #byUser = new Map<UserId, Set<Socket>>()

  /** Adds a socket to its user's set. */
  join(userId: UserId, socket: Socket): void {
    const sockets = this.#byUser.get(userId)
    if (sockets === undefined) this.#byUser.set(userId, new Set([socket]))
    else sockets.add(socket)
  }

  /** Removes a socket; a user with none left is forgotten. */
  leave(userId: UserId, socket: Socket): void {
    const sockets = this.#byUser.get(userId)
    if (sockets === undefined) return
    sockets.delete(socket)
    if (sockets.size === 0) this.#byUser.delete(userId)
  }

  /** The user's open sockets, as a copy (empty when none). */
  socketsOf(userId: UserId): Socket[] {
    return [...(this.#byUser.get(userId) ?? [])]
  }

  /** The users with at least one socket open. */
  connectedUserIds(): UserId[] {
    return [...this.#byUser.keys()]
  }

  /** Sends one frame, serialised once, to every socket of the user. */
  publish(userId: UserId, frame: object): void {
    const text = JSON.stringify(frame)
    for (const socket of this.#byUser.get(userId) ?? []) socket.send(text)
  }

  /** How many sockets are open in all. */
  get size(): number {
    let count = 0
    for (const sockets of this.#byUser.values()) count += sockets.size
    return count
  }
}
