/** The count of accounts waiting for approval, beside the Admin link on every page; counts while it is shown. */
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
