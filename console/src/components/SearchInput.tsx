import { useEffect, useRef } from 'react'
import { Icon } from './Icon.tsx'

interface SearchInputProps {
  id: string
  label: string
  placeholder?: string
  value: string
  onChange: (value: string) => void
  /** Focus the box when the user presses "/" outside a text field. */
  slashShortcut?: boolean
}

export function SearchInput({ id, label, placeholder, value, onChange, slashShortcut = false }: SearchInputProps) {
  const inputRef = useRef<HTMLInputElement>(null)

  useEffect(() => {
    if (!slashShortcut) return
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.metaKey || event.ctrlKey || event.altKey) return
      const target = event.target as HTMLElement | null
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return
      event.preventDefault()
      inputRef.current?.focus()
      inputRef.current?.select()
    }
    window.addEventListener('keydown', onKeyDown)
    return () => window.removeEventListener('keydown', onKeyDown)
  }, [slashShortcut])

  return (
    <div className="search-input">
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <Icon name="search" size={14} className="search-icon" />
      <input
        ref={inputRef}
        id={id}
        type="search"
        placeholder={placeholder}
        value={value}
        autoComplete="off"
        spellCheck={false}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && value) {
            event.preventDefault()
            onChange('')
          }
        }}
      />
      {slashShortcut && !value && (
        <kbd className="search-kbd" aria-hidden="true">
          /
        </kbd>
      )}
    </div>
  )
}
