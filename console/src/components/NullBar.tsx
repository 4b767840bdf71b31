import { formatPercent } from '../lib/format.ts'

function tone(fraction: number): string {
  if (fraction === 0) return 'none'
  if (fraction < 0.1) return 'low'
  if (fraction < 0.5) return 'medium'
  return 'high'
}

/** NULL share of a column as a small inline bar plus the percentage (profiling-view style). */
export function NullBar({ fraction }: { fraction: number | null }) {
  if (fraction === null) {
    return (
      <span className="null-bar is-unknown" title="Not measured">
        —
      </span>
    )
  }
  // Keep a visible sliver for tiny non-zero shares.
  const width = fraction === 0 ? 0 : Math.max(2, fraction * 100)
  return (
    <span className={`null-bar tone-${tone(fraction)}`}>
      <span className="null-bar-track" aria-hidden="true">
        <span className="null-bar-fill" style={{ width: `${width}%` }} />
      </span>
      <span className="null-bar-value">{formatPercent(fraction)}</span>
    </span>
  )
}
