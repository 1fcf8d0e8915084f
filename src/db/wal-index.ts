/**
 * How many WAL frames wait for a checkpoint, read from SQLite's wal-index (the `-shm` file beside a
 * WAL database) without a lock or a statement: https://sqlite.org/walformat.html. The header is kept
 * twice (bytes 0-47 and 48-95, native byte order); `mxFrame`, the last committed frame, is at byte 16
 * of each, and `nBackfill`, the frames already copied into the database, at byte 96. A read that
 * finds the two copies unequal (a commit writing them) answers null, as does a missing header.
 * Threat: none of it is trusted for anything but a hint of when to checkpoint (wal-checkpointer.ts).
 */
import { readSync } from 'node:fs'

const HEADER_BYTES = 48
const READ_BYTES = 100

/** A buffer for walFramesPending, reused across reads. */
export function walIndexBuffer(): Uint8Array {
  return new Uint8Array(READ_BYTES)
}

/** The frames in the WAL not yet checkpointed (mxFrame - nBackfill), and mxFrame itself; null when the header is not readable now. */
export function walFramesPending(shmFd: number, buffer: Uint8Array): { pending: number; frames: number } | null {
  if (readSync(shmFd, buffer, 0, READ_BYTES, 0) < READ_BYTES) return null
  const words = new Uint32Array(buffer.buffer, buffer.byteOffset, READ_BYTES >> 2)
  // note: byte 12 is isInit; the copies are compared as SQLite's readers do (walIndexTryHdr).
  if (buffer[12] === 0) return null
  for (let i = 0; i < HEADER_BYTES >> 2; i++) if (words[i] !== words[i + (HEADER_BYTES >> 2)]) return null
  const frames = words[4]!
  const backfilled = words[24]!
  return { pending: frames >= backfilled ? frames - backfilled : frames, frames }
}
