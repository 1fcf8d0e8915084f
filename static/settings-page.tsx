/**
 * Settings, one section at a time (section-page.tsx). To add a section, add one entry to
 * `settingsSections`: `{ id, label, icon, component }`, or, to keep its code out of the first load,
 * `{ id, label, icon, load: () => import('./my-section.tsx').then((module) => module.MySection) }`.
 */
import { ChatDataSection } from './chat-data-section.tsx'
import { SectionPage, type Section } from './section-page.tsx'
import { config } from './session.ts'
import { ApiKeysOff, SessionsList } from './settings-access.tsx'
import { SecuritySection } from './settings-security.tsx'
import { AccountSection, ApiKeySection, ChatDefaultsSection, mayUseApiKeys, PasswordSection, ThemeSection } from './settings-view.tsx'

export const settingsSections: Section[] = [
  { id: 'appearance', label: 'Appearance', icon: 'palette', component: ThemeSection },
  { id: 'chat-defaults', label: 'Chat defaults', icon: 'sliders', component: ChatDefaultsSection },
  { id: 'chats', label: 'Export and import', icon: 'database', component: ChatDataSection },
  { id: 'password', label: 'Password', icon: 'lock', component: PasswordSection },
  { id: 'security', label: 'Second factors', icon: 'shield', component: SecuritySection },
  { id: 'api-keys', label: 'API keys', icon: 'key', component: () => (mayUseApiKeys() ? <ApiKeySection /> : <ApiKeysOff />) },
  {
    id: 'direct-connections', label: 'Direct connections', icon: 'plug', isShown: () => config.value?.features.enable_direct_connections === true,
    load: () => import('./direct-connections-section.tsx').then((module) => module.DirectConnectionsSection),
  },
  { id: 'sessions', label: 'Sessions', icon: 'monitor', component: SessionsList },
  { id: 'account', label: 'Account', icon: 'user', component: AccountSection },
]

export function SettingsPage({ section }: { section: string | null }) {
  return <SectionPage title="Settings" base="/settings" sections={settingsSections} sectionId={section} />
}
