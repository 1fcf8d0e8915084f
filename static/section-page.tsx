/**
 * A page split into sections with a navigation beside them (Settings, Admin): a left column on a
 * wide screen, a row of tabs on a phone. Each section has its own path (/settings/appearance), so
 * a section can be linked to and the Back button walks between them. The sections come from a
 * registry (settings-sections.tsx, admin-sections.tsx): one entry per section.
 */
import type { ComponentChildren, ComponentType } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { Circle, sectionIcons, type SectionIconName } from './icons.ts'
import { navigate } from './router.ts'

/** One section of a page: its path segment, its name in the navigation, and what it shows. */
export type Section = {
  /** The path segment (lower case, digits and dashes): /settings/<id>. */
  id: string
  label: string
  icon?: SectionIconName
  /** The section's component; or `load`, for one kept in a chunk of its own until first shown. */
  component?: ComponentType
  load?: () => Promise<ComponentType>
  /** Leaves the section out when this returns false (a feature turned off, say). */
  isShown?: () => boolean
}

/** A section whose component sits in a chunk of its own: loaded when first shown, then kept. */
function LazySection({ section }: { section: Section }) {
  const [loaded, setLoaded] = useState<{ id: string; component: ComponentType } | null>(null)
  const [failed, setFailed] = useState(false)
  useEffect(() => {
    let isCurrent = true
    setFailed(false)
    section.load?.().then((component) => isCurrent && setLoaded({ id: section.id, component }), () => isCurrent && setFailed(true))
    return () => void (isCurrent = false)
  }, [section.id])
  if (failed) return <p class="alert" role="alert">This section could not be loaded. Reload the page to try again.</p>
  if (loaded === null || loaded.id !== section.id) return <p class="muted" role="status">Loading…</p>
  const Loaded = loaded.component
  return <Loaded />
}

/** The page: its title, the navigation between its shown sections, and the chosen one (the first when `sectionId` is null or unknown). */
export function SectionPage({ title, base, sections, sectionId, intro }: { title: string; base: string; sections: readonly Section[]; sectionId: string | null; intro?: ComponentChildren }) {
  const shown = sections.filter((section) => section.isShown?.() ?? true)
  const current = shown.find((section) => section.id === sectionId) ?? shown[0]
  const Shown = current?.component
  return (
    <div class="page section-page">
      <header class="page-header">
        <h1 id="page-heading">{title}</h1>
        {intro}
      </header>
      <div class="section-layout">
        <nav class="section-nav" aria-label={`${title} sections`}>
          <ul>
            {shown.map((section) => {
              const Icon = section.icon === undefined ? Circle : sectionIcons[section.icon] ?? Circle
              const href = `${base}/${section.id}`
              return (
                <li key={section.id}>
                  <a href={href} aria-current={section === current ? 'page' : undefined} onClick={(event) => {
                    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return
                    event.preventDefault()
                    navigate(href)
                  }}><Icon size={18} />{section.label}</a>
                </li>
              )
            })}
          </ul>
        </nav>
        <div class="section-body" key={current?.id}>
          {current === undefined ? null : Shown !== undefined ? <Shown /> : <LazySection section={current} />}
        </div>
      </div>
    </div>
  )
}
