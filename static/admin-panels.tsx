/** The admin page's panels for the first run and the admin's day: accounts, Ollama connections, models. */
import { AdminAccounts } from './admin-accounts.tsx'
import { AdminConnections } from './admin-connections.tsx'
import { AdminModels } from './admin-models.tsx'

export function AdminPanels() {
  return (
    <>
      <AdminAccounts />
      <AdminConnections />
      <AdminModels />
    </>
  )
}
