/**
 * Who may use which model: for each base model, public (every user), admins only, or the groups
 * an admin picks. A model without a grant is for admins only (BYPASS_MODEL_ACCESS_CONTROL=false);
 * the models an upgrade found stay public, and this section says which. Saved as Open WebUI's
 * admin page saves a model's access (POST /api/v1/models/model/access/update with access_grants).
 */
import { useEffect, useState } from 'preact/hooks'
import { api, describeError } from './api.ts'
import { loadModels } from './models.ts'

type Grant = { principal_type: 'user' | 'group'; principal_id: string; permission: 'read' | 'write' }
type ModelAccess = { id: string; listed: boolean; has_grant: boolean; access_control: unknown; access_grants: Grant[]; made_public_by_upgrade: boolean }
type Listing = { bypass_model_access_control: boolean; upgrade: { pending: boolean; made_public: string[] }; models: ModelAccess[] }
type Group = { id: string; name: string }

const PUBLIC: Grant = { principal_type: 'user', principal_id: '*', permission: 'read' }
const isPublic = (model: ModelAccess) => model.access_control === null
const groupIdsOf = (model: ModelAccess) => model.access_grants.filter((grant) => grant.principal_type === 'group').map((grant) => grant.principal_id)

type RowProps = { model: ModelAccess; groups: Group[]; save: (id: string, grants: Grant[]) => Promise<void>; firstGroup: () => Promise<Group | null> }

function ModelRow({ model, groups, save, firstGroup }: RowProps) {
  const chosen = groupIdsOf(model)
  const setGroups = (ids: string[]) => save(model.id, ids.map((id) => ({ principal_type: 'group', principal_id: id, permission: 'read' })))
  /** Grants the first group (read afresh: the groups section may have made one since), to pick others from. */
  const startWithGroups = async () => {
    const group = await firstGroup()
    if (group !== null) await setGroups([group.id])
  }
  return (
    <tr data-model={model.id}>
      <th scope="row"><code>{model.id}</code>{!model.listed && <span class="muted"> (not on any connection)</span>}</th>
      <td>
        <label><span class="offscreen">Who may use {model.id}</span>
          <select value={isPublic(model) ? 'public' : chosen.length > 0 ? 'groups' : 'admins'} onChange={(event) => {
            const value = event.currentTarget.value
            void (value === 'public' ? save(model.id, [PUBLIC]) : value === 'admins' ? save(model.id, []) : startWithGroups())
          }}>
            <option value="public">Every user</option>
            <option value="groups">Some groups</option>
            <option value="admins">Admins only</option>
          </select>
        </label>
      </td>
      <td>
        {!isPublic(model) && chosen.length > 0 && groups.map((group) => (
          <label class="inline"><input type="checkbox" checked={chosen.includes(group.id)} aria-label={`${group.name} may use ${model.id}`}
            onChange={(event) => setGroups(event.currentTarget.checked ? [...chosen, group.id] : chosen.filter((id) => id !== group.id))} /> {group.name}</label>
        ))}
      </td>
    </tr>
  )
}

/** The admin page's section on model access. */
export function ModelAccessSection() {
  const [listing, setListing] = useState<Listing | null>(null)
  const [groups, setGroups] = useState<Group[]>([])
  const [error, setError] = useState<string | null>(null)
  const load = async () => {
    const [found, known] = await Promise.all([api<Listing>('GET', '/api/v1/models/access'), api<Group[]>('GET', '/api/v1/groups/')])
    setListing(found)
    setGroups(known)
  }
  useEffect(() => void load().catch((failure: unknown) => setError(describeError(failure))), [])
  const save = async (id: string, grants: Grant[]) => {
    setError(null)
    try {
      await api('POST', '/api/v1/models/model/access/update', { id, name: id, access_grants: grants })
      await load()
      await loadModels()
    } catch (failure) {
      setError(describeError(failure))
    }
  }
  const firstGroup = async (): Promise<Group | null> => {
    const known = await api<Group[]>('GET', '/api/v1/groups/').catch(() => [])
    setGroups(known)
    if (known.length === 0) setError('Create a group first (Groups and permissions, below).')
    return known[0] ?? null
  }
  return (
    <section aria-labelledby="model-access-heading">
      <h2 id="model-access-heading">Model access</h2>
      {error !== null && <p class="alert" role="alert">{error}</p>}
      {listing?.bypass_model_access_control === true && <p class="muted">BYPASS_MODEL_ACCESS_CONTROL is on: every user may use every model, whatever is set here.</p>}
      {listing !== null && listing.upgrade.made_public.length > 0 && (
        <p class="notice" role="status">
          These models existed before access control and stay usable by every user: {listing.upgrade.made_public.join(', ')}. Models added since are for admins only until you grant them.
        </p>
      )}
      {listing !== null && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th scope="col">Model</th><th scope="col">Who may use it</th><th scope="col">Groups</th></tr></thead>
            <tbody>{listing.models.map((model) => <ModelRow model={model} groups={groups} save={save} firstGroup={firstGroup} />)}</tbody>
          </table>
        </div>
      )}
    </section>
  )
}
