import type { ReactNode } from 'react'
import type { ApiError } from '../api/client.ts'
import { Icon, type IconName } from './Icon.tsx'

interface StateViewProps {
  icon: IconName
  title: string
  tone?: 'neutral' | 'danger'
  children?: ReactNode
  actions?: ReactNode
  role?: 'alert' | 'status'
}

/** Centered message for empty, error and not-found states. */
export function StateView({ icon, title, tone = 'neutral', children, actions, role }: StateViewProps) {
  return (
    <div className={`state-view tone-${tone}`} role={role}>
      <div className="state-icon">
        <Icon name={icon} size={20} />
      </div>
      <h2 className="state-title">{title}</h2>
      {children && <div className="state-body">{children}</div>}
      {actions && <div className="state-actions">{actions}</div>}
    </div>
  )
}

export function ErrorState({ error, onRetry, what }: { error: ApiError; onRetry: () => void; what: string }) {
  return (
    <StateView
      icon="alert"
      tone="danger"
      role="alert"
      title={`Could not load ${what}`}
      actions={
        <button type="button" className="button" onClick={onRetry}>
          <Icon name="refresh" size={14} />
          Try again
        </button>
      }
    >
      <p className="error-message">{error.message}</p>
      {error.status > 0 && (
        <p className="error-meta">
          HTTP {error.status} · <code>{error.code}</code>
        </p>
      )}
    </StateView>
  )
}

/** Slim banner for a failed background refresh while older data stays on screen. */
export function RefreshErrorBanner({ error }: { error: ApiError }) {
  return (
    <div className="banner banner-danger" role="alert">
      <Icon name="alert" size={14} />
      <span>
        Showing the last loaded data: the latest refresh failed. <span className="banner-detail">{error.message}</span>
      </span>
    </div>
  )
}
