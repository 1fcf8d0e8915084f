/**
 * The accounts waiting for an administrator's approval, for the badge every admin page shows:
 * counted from the user list when the page starts, every minute after, and after an approval.
 */
import { signal } from '@preact/signals'
import { api } from './api.ts'
import type { AdminUser } from './types.ts'

export const pendingUsers = signal<AdminUser[]>([])
/** Counts changes to the accounts made on this page (added, approved), so lists showing them reload. */
export const accountsChanged = signal(0)
const REFRESH_MS = 60_000
let timer: ReturnType<typeof setInterval> | null = null

/** Reloads the pending accounts; a failure keeps the last known list. */
export async function loadPendingUsers(): Promise<void> {
  try {
    const { users } = await api<{ users: AdminUser[] }>('GET', '/api/v1/users/all')
    pendingUsers.value = users.filter((account) => account.role === 'pending')
  } catch {
    // note: the badge is a hint; the admin page shows the list's own errors.
  }
}

/** Starts counting for an admin (once); `stopPendingUsers` ends it at sign-out. */
export function watchPendingUsers(): void {
  if (timer !== null) return
  void loadPendingUsers()
  timer = setInterval(() => void loadPendingUsers(), REFRESH_MS)
}

export function stopPendingUsers(): void {
  if (timer !== null) clearInterval(timer)
  timer = null
  pendingUsers.value = []
}
