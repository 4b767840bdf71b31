// A small client-side router on the History API: enough for a handful of pages, no dependency.
// The control plane serves index.html for every unknown path, so deep links work on reload.
// This file: location state and navigation; components.tsx: <Routes> and <Link>.

import { useSyncExternalStore } from 'react'

const NAVIGATE_EVENT = 'cwic:navigate'

export interface Location {
  pathname: string
  search: string
}

let cached: Location | null = null

function readLocation(): Location {
  const { pathname, search } = window.location
  if (!cached || cached.pathname !== pathname || cached.search !== search) cached = { pathname, search }
  return cached
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange)
  window.addEventListener(NAVIGATE_EVENT, onChange)
  return () => {
    window.removeEventListener('popstate', onChange)
    window.removeEventListener(NAVIGATE_EVENT, onChange)
  }
}

export function useLocation(): Location {
  return useSyncExternalStore(subscribe, readLocation)
}

export function useSearchParam(name: string): string {
  const { search } = useLocation()
  return new URLSearchParams(search).get(name) ?? ''
}

export interface NavigateOptions {
  /** Replace the current history entry (e.g. while typing in a search box). */
  replace?: boolean
}

export function navigate(to: string, options: NavigateOptions = {}): void {
  const current = window.location.pathname + window.location.search + window.location.hash
  if (to === current) return
  const previousPath = window.location.pathname
  if (options.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  if (!options.replace && window.location.pathname !== previousPath) window.scrollTo(0, 0)
  window.dispatchEvent(new Event(NAVIGATE_EVENT))
}

/** Returns the current path with query parameters set (or removed when empty). */
export function withSearchParams(location: Location, updates: Record<string, string>): string {
  const params = new URLSearchParams(location.search)
  for (const [name, value] of Object.entries(updates)) {
    if (value) params.set(name, value)
    else params.delete(name)
  }
  const search = params.toString()
  return location.pathname + (search ? `?${search}` : '')
}

export type Params = Record<string, string>

/** Matches `/assets/:id` style patterns; returns the decoded params or null. */
export function matchPath(pattern: string, pathname: string): Params | null {
  const trim = (path: string) => path.replace(/\/+$/, '') || '/'
  const patternParts = trim(pattern).split('/')
  const pathParts = trim(pathname).split('/')
  if (patternParts.length !== pathParts.length) return null
  const params: Params = {}
  for (let index = 0; index < patternParts.length; index++) {
    const expected = patternParts[index] ?? ''
    const actual = pathParts[index] ?? ''
    if (expected.startsWith(':')) {
      if (!actual) return null
      try {
        params[expected.slice(1)] = decodeURIComponent(actual)
      } catch {
        return null
      }
    } else if (expected !== actual) {
      return null
    }
  }
  return params
}
