/**
 * Administration, one section at a time (section-page.tsx), for administrators only. To add a
 * section, add one entry to `adminSections`: `{ id, label, icon, component }`, or, to keep its code
 * out of the first load, `{ id, label, icon, load: () => import('./my-section.tsx').then((module) => module.MySection) }`.
 */
import { GroupsSection } from './admin-groups.tsx'
import { ModelAccessSection } from './admin-model-access.tsx'
import { SecondFactorsSection } from './admin-second-factors.tsx'
import { AccountsSection, OllamaSection } from './admin-view.tsx'
import { SectionPage, type Section } from './section-page.tsx'
import { user } from './session.ts'

export const adminSections: Section[] = [
  { id: 'users', label: 'Users', icon: 'users', component: AccountsSection },
  { id: 'ollama', label: 'Ollama', icon: 'server', component: OllamaSection },
  { id: 'model-access', label: 'Model access', icon: 'boxes', component: ModelAccessSection },
  { id: 'groups', label: 'Groups', icon: 'users', component: GroupsSection },
  { id: 'second-factors', label: 'Second factors', icon: 'shield', component: SecondFactorsSection },
]

export function AdminPage({ section }: { section: string | null }) {
  if (user.value?.role !== 'admin') return <section class="page"><p class="alert" role="alert">This page is for administrators.</p></section>
  return <SectionPage title="Administration" base="/admin" sections={adminSections} sectionId={section} />
}
