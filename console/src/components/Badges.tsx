import { formatKind } from '../lib/format.ts'
import { Icon } from './Icon.tsx'

export function KindBadge({ kind }: { kind: string }) {
  return <span className={`badge badge-kind kind-${kind.replace(/[^a-z_]/gi, '')}`}>{formatKind(kind)}</span>
}

/** Red badge for an asset whose latest observation failed; the message is in the tooltip. */
export function ErrorBadge({ message }: { message: string }) {
  return (
    <span className="badge badge-error" title={message}>
      <Icon name="alert" size={12} />
      Error
      <span className="visually-hidden">: {message}</span>
    </span>
  )
}

export function SourceKindTag({ kind }: { kind: string }) {
  return <span className="tag">{kind}</span>
}
