import type { ApiError } from '../api/client.ts'
import { formatDateTime, formatRelative } from '../lib/format.ts'
import { Icon } from './Icon.tsx'

interface LiveStatusProps {
  updatedAt: number | undefined
  fetching: boolean
  error: ApiError | undefined
  refreshSeconds: number
  now: number
  onRefresh: () => void
}

/** "● Live · updated 5 s ago [↻]": tells the user the page refreshes itself and lets them force it. */
export function LiveStatus({ updatedAt, fetching, error, refreshSeconds, now, onRefresh }: LiveStatusProps) {
  const state = error ? 'error' : fetching ? 'fetching' : 'ok'
  const text = error
    ? 'Refresh failed'
    : updatedAt === undefined
      ? 'Loading…'
      : `Updated ${formatRelative(updatedAt, Math.max(now, updatedAt))}`
  return (
    <div className={`live-status is-${state}`}>
      <span className="live-dot" aria-hidden="true" />
      <span
        className="live-text"
        title={
          updatedAt === undefined
            ? `Refreshes every ${refreshSeconds} s`
            : `Refreshes every ${refreshSeconds} s · last update ${formatDateTime(updatedAt)}`
        }
      >
        {text}
      </span>
      <button
        type="button"
        className="icon-button"
        onClick={onRefresh}
        disabled={fetching}
        aria-label="Refresh now"
        title="Refresh now"
      >
        <Icon name="refresh" size={14} className={fetching ? 'spin' : undefined} />
      </button>
    </div>
  )
}
