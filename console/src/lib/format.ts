// Display formatting. Numbers follow the browser's locale (thousands separators); times are shown
// relative ("3 min ago") with the absolute time available as a tooltip.

const integerFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 })
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
})
const shortDateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', year: 'numeric' })

export const EMPTY = '—'

/** `1234567` → `1,234,567` (in en-US); null → em dash. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return EMPTY
  return integerFormat.format(Math.round(value))
}

/** `1234567` → `1.2M`, for tight spaces such as chart labels. */
export function formatCompact(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return EMPTY
  return compactFormat.format(value)
}

/** A fraction in [0, 1] as a percentage with precision where it matters: 0%, <0.1%, 2.4%, 37%, 100%. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return EMPTY
  const percent = fraction * 100
  if (percent === 0) return '0%'
  if (percent < 0.1) return '<0.1%'
  if (percent < 10) return `${percent.toFixed(1)}%`
  if (percent > 99.9 && percent < 100) return '>99.9%'
  return `${Math.round(percent)}%`
}

export function parseTime(value: string): number {
  return new Date(value).getTime()
}

export function formatDateTime(value: string | number): string {
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? String(value) : dateTimeFormat.format(date)
}

/** Relative time such as "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago", else a date. */
export function formatRelative(value: string | number, now: number = Date.now()): string {
  const time = typeof value === 'number' ? value : parseTime(value)
  if (Number.isNaN(time)) return EMPTY
  const seconds = Math.round((now - time) / 1000)
  if (seconds < -60) return `in ${formatRelative(now, time).replace(/ ago$/, '')}`
  if (seconds < 10) return 'just now'
  if (seconds < 60) return `${seconds} s ago`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours} h ago`
  const days = Math.floor(hours / 24)
  if (days < 30) return `${days} d ago`
  return shortDateFormat.format(new Date(time))
}

const KIND_LABELS: Record<string, string> = {
  table: 'Table',
  view: 'View',
  materialized_view: 'Mat. view',
  foreign_table: 'Foreign table',
  file: 'File',
}

export function formatKind(kind: string): string {
  return KIND_LABELS[kind] ?? kind.replace(/_/g, ' ')
}

/** Fraction of NULLs in a column, when both counts are known and the table has rows. */
export function nullFraction(nullCount: number | null, rowCount: number | null): number | null {
  if (nullCount === null || rowCount === null || rowCount <= 0) return null
  return Math.min(1, Math.max(0, nullCount / rowCount))
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value)
}
