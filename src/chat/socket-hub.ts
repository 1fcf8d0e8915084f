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
  #relay: ((userId: UserId, text: string) => void) | null = null

  /** Also hands every frame for a user to `relay` (the other instances, cluster/socket-fan-out.ts). */
  relayTo(relay: (userId: UserId, text: string) => void): void {
    this.#relay = relay
  }

  /** Hands a frame already sent to this instance's sockets on to the other instances (no-op without a relay). */
  relay(userId: UserId, text: string): void {
    this.#relay?.(userId, text)
  }

  /** Sends a serialised frame to this instance's sockets of the user only (a frame from another instance). */
  deliverLocally(userId: UserId, text: string): void {
    for (const socket of this.#byUser.get(userId) ?? []) socket.send(text)
  }

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

  /** Sends one frame, serialised once, to every socket of the user, on this instance and (through the relay) the others. */
  publish(userId: UserId, frame: object): void {
    const text = JSON.stringify(frame)
    this.deliverLocally(userId, text)
    this.relay(userId, text)
  }

  /** How many sockets are open in all. */
  get size(): number {
    let count = 0
    for (const sockets of this.#byUser.values()) count += sockets.size
    return count
  }
}
