/**
 * The UI's icons (lucide-preact), each imported by name so the bundle carries only these. An icon
 * with no label of its own is aria-hidden; the control around it carries the name.
 */
export {
  Archive, ArrowUp, BookOpen, Boxes, Check, Circle, ChevronLeft, ChevronRight, CircleStop, Copy, Database, Download, Ellipsis, FileDown, FileText, FileUp,
  Info, Keyboard, KeyRound, Lock, LogOut, Menu, MessageSquare, MessageSquareDashed, Monitor, Moon, Palette, Paperclip, Pencil, Pin,
  RefreshCw, Search, Server, Settings, Shield, SlidersHorizontal, SquarePen, Sun, Trash2, Upload, User, Users, X,
} from 'lucide-preact'
import {
  Boxes, Database, FileText, KeyRound, Lock, MessageSquare, Monitor, Palette, Plug, Server, Shield, SlidersHorizontal, User, Users,
} from 'lucide-preact'

/** Icons a Settings or Admin section may name in its registry entry (section-registry.ts); unknown names get a plain dot. */
export const sectionIcons = {
  palette: Palette, chat: MessageSquare, lock: Lock, key: KeyRound, shield: Shield, monitor: Monitor, user: User, users: Users,
  server: Server, plug: Plug, boxes: Boxes, database: Database, sliders: SlidersHorizontal, file: FileText,
} as const

export type SectionIconName = keyof typeof sectionIcons
