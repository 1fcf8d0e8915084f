/**
 * Who may use a workspace model or prompt, as Open WebUI's `access_control`: public (null), private
 * ({}), or read access for chosen groups (from GET /api/v1/groups/, the groups the user may see).
 * Also what the user may create: the session's permissions (`workspace.models`, `workspace.prompts`),
 * or GET /api/v1/users/permissions, loaded once, for a session that came without them.
 */
import { signal } from '@preact/signals'
import { useEffect, useState } from 'preact/hooks'
import { api } from './api.ts'
import { user } from './session.ts'

export type AccessControl = { read?: { group_ids?: string[]; user_ids?: string[] }; write?: { group_ids?: string[]; user_ids?: string[] } } | null
type Group = { id: string; name: string }

const permissions = signal<{ workspace?: { models?: boolean; prompts?: boolean } } | null>(null)
let loading: Promise<void> | null = null

/** Whether the signed-in user may create workspace models or prompts (admins always may). */
export function mayCreate(kind: 'models' | 'prompts'): boolean {
  if (user.value?.role === 'admin') return true
  const session = user.value?.permissions
  if (session !== undefined) return session.workspace?.[kind] === true
  loading ??= api<NonNullable<typeof permissions.value>>('GET', '/api/v1/users/permissions').then((found) => void (permissions.value = found), () => {})
  return permissions.value?.workspace?.[kind] === true
}

/** A fieldset choosing public, private or groups; `onChange` receives Open WebUI's shape. */
export function AccessPicker({ value, onChange, idPrefix }: { value: AccessControl; onChange: (next: AccessControl) => void; idPrefix: string }) {
  const [groups, setGroups] = useState<Group[]>([])
  useEffect(() => void api<Group[]>('GET', '/api/v1/groups/').then(setGroups, () => setGroups([])), [])
  const mode = value === null ? 'public' : (value.read?.group_ids?.length ?? 0) > 0 ? 'groups' : 'private'
  const chosen = new Set(value?.read?.group_ids ?? [])
  const withGroups = (ids: string[]): AccessControl => ({ read: { group_ids: ids, user_ids: value?.read?.user_ids ?? [] }, write: value?.write ?? { group_ids: [], user_ids: [] } })
  return (
    <fieldset class="choices">
      <legend>Who may use it</legend>
      <label class="choice"><input type="radio" name={`${idPrefix}-access`} checked={mode === 'private'} onChange={() => onChange({})} /> Only me</label>
      <label class="choice"><input type="radio" name={`${idPrefix}-access`} checked={mode === 'public'} onChange={() => onChange(null)} /> Everyone</label>
      <label class="choice"><input type="radio" name={`${idPrefix}-access`} checked={mode === 'groups'} disabled={groups.length === 0} onChange={() => onChange(withGroups(groups.slice(0, 1).map((group) => group.id)))} /> Groups</label>
      {mode === 'groups' && groups.map((group) => (
        <label class="choice">
          <input type="checkbox" checked={chosen.has(group.id)} onChange={(event) => onChange(withGroups(event.currentTarget.checked ? [...chosen, group.id] : [...chosen].filter((id) => id !== group.id)))} />
          {group.name}
        </label>
      ))}
    </fieldset>
  )
}

/** Describes a grant in a few words for a list. */
export const describeAccess = (access: AccessControl) => (access === null ? 'Everyone' : (access.read?.group_ids?.length ?? 0) > 0 ? 'Groups' : 'Only me')
