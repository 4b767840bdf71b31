import { useState } from 'react'
import { Icon } from './Icon.tsx'

/** A shell command in a code block with a copy button. */
export function CopyCommand({ command }: { command: string }) {
  const [copied, setCopied] = useState(false)
  const canCopy = typeof navigator !== 'undefined' && !!navigator.clipboard && window.isSecureContext
  return (
    <div className="copy-command">
      <code>
        <span className="prompt" aria-hidden="true">
          ${' '}
        </span>
        {command}
      </code>
      {canCopy && (
        <button
          type="button"
          className="icon-button"
          aria-label={copied ? 'Copied' : 'Copy command'}
          title={copied ? 'Copied' : 'Copy command'}
          onClick={() => {
            navigator.clipboard.writeText(command).then(
              () => {
                setCopied(true)
                window.setTimeout(() => setCopied(false), 1500)
              },
              () => setCopied(false),
            )
          }}
        >
          <Icon name={copied ? 'check' : 'copy'} size={14} />
        </button>
      )}
    </div>
  )
}
