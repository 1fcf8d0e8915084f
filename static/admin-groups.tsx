/**
 * Administration of groups and permissions: local groups an admin makes, names and members;
 * groups synced from LDAP or OpenID (their members come from the directory and can't be edited);
 * each group's permissions; and the default permissions every user has. Permissions add up: a user
 * has one when the defaults or any of their groups grant it.
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { confirmAction } from './confirm-dialog.tsx'
import type { AdminUser } from './types.ts'

type PermissionTree = Record<string, Record<string, boolean>>
type Group = { id: string; name: string; description: string; permissions: PermissionTree | null; data: { source: string }; user_ids: string[] }

/**
 * The permissions shown for editing, with labels: those Enclave holds (at the server, or, as Open
 * WebUI's page does, by not offering the control); the rest of Open WebUI's tree (tools, notes,
 * web search, ... which Enclave does not have) is kept as it is, unshown.
 */
const EDITABLE: [string, string][] = [
  ['workspace.models', 'Create workspace models'], ['workspace.prompts', 'Create prompts'],
  ['workspace.knowledge', 'Create knowledge'],
  ['features.api_keys', 'Create API keys'], ['chat.file_upload', 'Upload files'], ['chat.delete', 'Delete chats'],
  ['chat.edit', 'Edit messages'], ['chat.temporary', 'Temporary chats'], ['chat.share', 'Share chats'], ['chat.export', 'Export chats'],
  ['sharing.public_models', 'Make models public'], ['sharing.public_prompts', 'Make prompts public'], ['sharing.public_knowledge', 'Make knowledge public'],
  ['features.folders', 'Folders'],
]

const flagOf = (tree: PermissionTree | null, key: string) => {
  const [section, flag] = key.split('.') as [string, string]
  return tree?.[section]?.[flag] === true
}
const withFlag = (tree: PermissionTree | null, key: string, value: boolean): PermissionTree => {
  const [section, flag] = key.split('.') as [string, string]
  return { ...tree, [section]: { ...tree?.[section], [flag]: value } }
}

function PermissionBoxes({ tree, label, onChange }: { tree: PermissionTree | null; label: string; onChange: (next: PermissionTree) => void }) {
  return (
    <fieldset class="permissions">
      <legend>{label}</legend>
      {EDITABLE.map(([key, text]) => (
        <label><input type="checkbox" checked={flagOf(tree, key)} data-permission={key}
          onChange={(event) => onChange(withFlag(tree, key, event.currentTarget.checked))} /> {text}</label>
      ))}
    </fieldset>
  )
}

function GroupCard({ group, users, act }: { group: Group; users: AdminUser[]; act: (action: () => Promise<unknown>) => Promise<void> }) {
  const [adding, setAdding] = useState('')
  const isSynced = group.data.source !== 'local'
  const nameOf = (id: string) => users.find((one) => one.id === id)?.email ?? id
  const others = users.filter((one) => !group.user_ids.includes(one.id))
  return (
    <li class="group-card" data-group={group.name}>
      <h4>{group.name} {isSynced && <span class="muted">(synced from {group.data.source.toUpperCase()}: members come from the directory)</span>}</h4>
      <ul class="member-list" aria-label={`Members of ${group.name}`}>
        {group.user_ids.length === 0 && <li class="muted">No members.</li>}
        {group.user_ids.map((id) => (
          <li>{nameOf(id)}{!isSynced && (
            <button type="button" class="secondary small" aria-label={`Remove ${nameOf(id)} from ${group.name}`}
              onClick={() => act(() => api('POST', `/api/v1/groups/id/${group.id}/users/remove`, { user_ids: [id] }))}>Remove</button>
          )}</li>
        ))}
      </ul>
      {!isSynced && (
        <form class="row" onSubmit={(event) => {
          event.preventDefault()
          if (adding !== '') void act(() => api('POST', `/api/v1/groups/id/${group.id}/users/add`, { user_ids: [adding] })).then(() => setAdding(''))
        }}>
          <label><span class="offscreen">User to add to {group.name}</span>
            <select value={adding} onChange={(event) => setAdding(event.currentTarget.value)}>
              <option value="">Add a member…</option>
              {others.map((one) => <option value={one.id}>{one.email}</option>)}
            </select>
          </label>
          <button type="submit" class="small" disabled={adding === ''}>Add</button>
        </form>
      )}
      <PermissionBoxes tree={group.permissions} label={`What ${group.name} may do`}
        onChange={(next) => act(() => api('POST', `/api/v1/groups/id/${group.id}/update`, { name: group.name, description: group.description, permissions: next }))} />
      <button type="button" class="danger small" aria-label={`Delete the group ${group.name}`} onClick={async () => {
        if (await confirmAction(`Delete the group ${group.name}? Its members lose what it grants.`)) await act(() => api('DELETE', `/api/v1/groups/id/${group.id}/delete`))
      }}>Delete group</button>
    </li>
  )
}

/** Groups, members and permissions: the admin page's section. */
export function GroupsSection() {
  const [groups, setGroups] = useState<Group[] | null>(null)
  const [users, setUsers] = useState<AdminUser[]>([])
  const [defaults, setDefaults] = useState<PermissionTree | null>(null)
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const load = async () => {
    const [found, accounts, permissions] = await Promise.all([
      api<Group[]>('GET', '/api/v1/groups/'),
      api<{ users: AdminUser[] }>('GET', '/api/v1/users/?page=1&limit=100'),
      api<PermissionTree>('GET', '/api/v1/users/default/permissions'),
    ])
    setGroups(found)
    setUsers(accounts.users)
    setDefaults(permissions)
  }
  const act = async (action: () => Promise<unknown>) => {
    setError(null)
    try {
      await action()
      await load()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  useEffect(() => void load().catch((failure: unknown) => setError(describeError(failure))), [])
  return (
    <section aria-labelledby="groups-heading">
      <h2 id="groups-heading">Groups and permissions</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {defaults !== null && (
        <PermissionBoxes tree={defaults} label="What every user may do (defaults)"
          onChange={(next) => act(() => api('POST', '/api/v1/users/default/permissions', next))} />
      )}
      <form class="row" onSubmit={(event) => {
        event.preventDefault()
        if (name.trim() !== '') void act(() => api('POST', '/api/v1/groups/create', { name: name.trim(), description: '' })).then(() => setName(''))
      }}>
        <label>New group <input value={name} maxLength={255} onInput={(event) => setName(event.currentTarget.value)} /></label>
        <button type="submit" class="small" disabled={name.trim() === ''}>Create group</button>
      </form>
      {groups !== null && groups.length === 0 && <p class="muted">No groups yet.</p>}
      {groups !== null && <ul class="group-list">{groups.map((group) => <GroupCard group={group} users={users} act={act} />)}</ul>}
    </section>
  )
}
