/**
 * The count of accounts waiting for approval: `PendingBadge` beside the Admin link on every page
 * (counting while it is shown), `PendingCount` on the phone's menu button, which hides that link.
 */
import { useEffect } from 'preact/hooks'
import { pendingUsers, stopPendingUsers, watchPendingUsers } from './pending-users.ts'

export function PendingBadge() {
  useEffect(() => {
    watchPendingUsers()
    return stopPendingUsers
  }, [])
  const count = pendingUsers.value.length
  if (count === 0) return null
  return <span class="badge" role="status" aria-label={`${count} account${count === 1 ? '' : 's'} waiting for approval`}>{count}</span>
}

/** The same count, shown only (the sidebar's badge keeps it fresh), for the phone's menu button. */
export function PendingCount() {
  const count = pendingUsers.value.length
  return count === 0 ? null : <span class="badge" aria-hidden="true">{count}</span>
}
