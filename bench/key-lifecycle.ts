/**
 * The key and data lifecycle: master key rotation for 10,000 users, data key rotation throughput
 * while reads go on, and backup time and size. The issue asks for a 1 GB database; building one
 * takes minutes on a small machine, so a 64 MB database is backed up and the time extrapolated
 * linearly to 1 GB (VACUUM INTO and the copy are sequential passes over the file).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey } from '../src/crypto/random.ts'
import { createBackup } from '../src/db/backup.ts'
import { createDataKeyRotator } from '../src/db/data-key-rotation.ts'
import type { UserId } from '../src/db/ids.ts'
import { openStore, type SqliteStore as Store } from '../src/db/open-store.ts'
import { nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'
import { sampleText } from './sample-text.ts'

const ROTATION_USERS = 10_000
const BACKUP_TARGET_BYTES = 64 * 1024 * 1024
const GIB = 1024 ** 3

export type LifecycleFigures = {
  masterRotationMs: number
  dataRotationValuesPerSecond: number
  readsDuringRotation: number
  backupMs: number
  encryptedBackupMs: number
  databaseBytes: number
  backupBytes: number
}

function withStore<T>(use: (store: Store, dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-keys-'))
  const store = openStore({ dataDir: dir, masterKey: { kind: 'generated', path: join(dir, 'master.key') }, now: Date.now })
  return Promise.resolve(use(store, dir)).finally(() => {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })
}

/** 10,000 owners' data keys re-wrapped in one transaction. */
async function measureMasterRotation(store: Store): Promise<number> {
  store.db.transaction(() => {
    for (let i = 0; i < ROTATION_USERS; i++) store.dataKeys.createKeyForOwner(crypto.randomUUID())
  }).immediate()
  const started = nowMs()
  const rotation = await store.rotateMasterKey({ kind: 'raw', key: generateKey() })
  const ms = nowMs() - started
  if (rotation.rewrappedKeys !== ROTATION_USERS + 2) throw new Error(`re-wrapped ${rotation.rewrappedKeys} keys`)
  return ms
}

/** Re-encrypts 20 users' 1 KB messages in 200-value batches while a reader opens their chats between batches. */
async function measureDataRotation(store: Store): Promise<{ valuesPerSecond: number; reads: number }> {
  const users: UserId[] = []
  await store.sql.transaction(async () => {
    for (let u = 0; u < 20; u++) {
      const created = await store.users.createUser({ email: `rot${u}@example.com`, name: `R${u}`, role: 'user' })
      if (!created.ok) throw new Error('seed')
      users.push(created.user.id)
      for (let c = 0; c < 10; c++) await store.chats.createChat(created.user.id, `chat ${c}`, Array.from({ length: 50 }, (_, m) => ({ role: 'user' as const, content: sampleText(1024, u * 1000 + c * 50 + m) })))
    }
  })
  const rotator = createDataKeyRotator(store.sql, store.dataKeys)
  await rotator.beginRotation(null)
  let values = 0
  let reads = 0
  let reading = true
  const reader = (async () => {
    while (reading) {
      const owner = users[reads % users.length]!
      const chat = (await store.chats.listChatsForUser(owner, { limit: 1, offset: reads % 10 }))[0]!
      await store.chats.listMessagesInChat(owner, chat.id)
      reads++
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const started = nowMs()
  for (;;) {
    const step = (await rotator.step(200))
    values += step.reencrypted
    if (step.pendingOwners === 0) break
    await new Promise((resolve) => setImmediate(resolve))
  }
  const seconds = (nowMs() - started) / 1000
  reading = false
  await reader
  return { valuesPerSecond: values / seconds, reads }
}

/** Fills about 64 MB of 1 KB messages, then times a plain and a passphrase-encrypted backup. */
async function measureBackup(store: Store, dir: string) {
  const created = await store.users.createUser({ email: 'backup@example.com', name: 'B', role: 'user' })
  if (!created.ok) throw new Error('seed')
  const databasePath = join(dir, 'enclave.db')
  for (let batch = 0; statSync(databasePath).size + (statSync(`${databasePath}-wal`, { throwIfNoEntry: false })?.size ?? 0) < BACKUP_TARGET_BYTES; batch++) {
    await store.sql.transaction(async () => {
      for (let c = 0; c < 10; c++) await store.chats.createChat(created.user.id, `c ${batch}/${c}`, Array.from({ length: 100 }, (_, m) => ({ role: 'user' as const, content: sampleText(1024, batch * 1000 + c * 100 + m) })))
    })
  }
  store.db.run('PRAGMA wal_checkpoint(TRUNCATE)')
  const databaseBytes = statSync(databasePath).size
  let started = nowMs()
  createBackup(store.db, join(dir, 'plain.backup'), { passphrase: null, now: Date.now })
  const backupMs = nowMs() - started
  const backupBytes = statSync(join(dir, 'plain.backup')).size
  started = nowMs()
  createBackup(store.db, join(dir, 'encrypted.backup'), { passphrase: 'benchmark passphrase, generated for this run', now: Date.now })
  const encryptedBackupMs = nowMs() - started
  return { backupMs, encryptedBackupMs, databaseBytes, backupBytes }
}

export async function measureKeyLifecycle(): Promise<LifecycleFigures> {
  const masterRotationMs = await withStore(measureMasterRotation)
  const data = await withStore(measureDataRotation)
  const backup = await withStore(measureBackup)
  return { masterRotationMs, dataRotationValuesPerSecond: data.valuesPerSecond, readsDuringRotation: data.reads, ...backup }
}

export function keyLifecycleRows(figures: LifecycleFigures): BenchRow[] {
  const perGiB = GIB / figures.databaseBytes
  const extrapolatedSeconds = (figures.backupMs * perGiB) / 1000
  return [
    {
      name: `master key rotation, ${formatNumber(ROTATION_USERS)} users`,
      figures: [`${formatNumber(figures.masterRotationMs, 0)} ms`, `${formatNumber((figures.masterRotationMs * 1000) / ROTATION_USERS, 1)} µs/user`],
      measured: figures.masterRotationMs, measuredText: `${formatNumber(figures.masterRotationMs, 0)} ms`,
      target: { kind: 'atMost', limit: 2000, label: '≤2 s' },
    },
    {
      name: 'data key rotation while reading',
      figures: [`${formatNumber(figures.dataRotationValuesPerSecond, 0)} values/s`, `${formatNumber(figures.readsDuringRotation)} chat reads meanwhile`],
      measured: figures.dataRotationValuesPerSecond, measuredText: `${formatNumber(figures.dataRotationValuesPerSecond, 0)} values/s`,
      target: { kind: 'atLeast', limit: 10_000, label: '≥10,000 values/s' },
    },
    {
      name: `backup, ${formatNumber(figures.databaseBytes / 1024 ** 2, 0)} MB database`,
      figures: [`${formatNumber(figures.backupMs / 1000, 2)} s plain`, `${formatNumber(figures.encryptedBackupMs / 1000, 2)} s with passphrase`, `≈${formatNumber(extrapolatedSeconds, 0)} s per GB (extrapolated)`],
      measured: extrapolatedSeconds, measuredText: `≈${formatNumber(extrapolatedSeconds, 0)} s/GB`,
      target: { kind: 'atMost', limit: 120, label: '≤120 s per GB' },
    },
    {
      name: 'backup size / database size',
      figures: [`${formatNumber(figures.backupBytes / 1024 ** 2, 1)} MB backup`],
      measured: figures.backupBytes / figures.databaseBytes, measuredText: formatRatio(figures.backupBytes / figures.databaseBytes),
      target: { kind: 'atMost', limit: 1.05, label: '≤1.05x' },
    },
  ]
}
