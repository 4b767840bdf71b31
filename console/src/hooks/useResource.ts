// Loads an API resource, keeps it fresh by polling, and exposes loading / error state.
// Polling is the live-update mechanism until the control plane pushes changes over WebSocket; pages
// only see `Resource<T>`, so that switch stays inside this hook.

import { useCallback, useEffect, useRef, useState } from 'react'
import { ApiError } from '../api/client.ts'

export interface Resource<T> {
  /** Latest successful result for the current key (or, with keepPrevious, the previous key). */
  data: T | undefined
  /** Error of the latest attempt; cleared by the next success. */
  error: ApiError | undefined
  /** True while the first result for the current key is on its way. */
  loading: boolean
  /** True while any request is in flight (first load or refresh). */
  fetching: boolean
  /** `data` belongs to a previous key (shown while the new one loads). */
  stale: boolean
  /** When `data` was received (ms since epoch). */
  updatedAt: number | undefined
  reload: () => void
}

export interface ResourceOptions {
  /** Poll interval in ms; 0 disables polling. Paused while the tab is hidden. */
  refreshMs?: number
  /** Keep showing the previous key's data while a new key loads (search as you type). */
  keepPrevious?: boolean
  /** Do not fetch at all (e.g. the id is known to be invalid). */
  skip?: boolean
}

interface State<T> {
  key: string
  data: T | undefined
  error: ApiError | undefined
  updatedAt: number | undefined
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new ApiError(0, 'client', message)
}

export function useResource<T>(
  key: string,
  fetcher: (signal: AbortSignal) => Promise<T>,
  { refreshMs = 0, keepPrevious = false, skip = false }: ResourceOptions = {},
): Resource<T> {
  const [state, setState] = useState<State<T>>({ key, data: undefined, error: undefined, updatedAt: undefined })
  const [fetching, setFetching] = useState(!skip)
  const [reloadToken, setReloadToken] = useState(0)
  const fetcherRef = useRef(fetcher)
  useEffect(() => {
    fetcherRef.current = fetcher
  })

  useEffect(() => {
    if (skip) return
    let timer: number | undefined
    let controller: AbortController | undefined
    let disposed = false
    let lastRun = 0

    const schedule = () => {
      if (refreshMs > 0 && !disposed) timer = window.setTimeout(run, refreshMs)
    }

    async function run() {
      window.clearTimeout(timer)
      if (document.hidden && lastRun > 0) return // resumed by the visibility listener
      controller?.abort()
      const current = new AbortController()
      controller = current
      lastRun = Date.now()
      setFetching(true)
      try {
        const data = await fetcherRef.current(current.signal)
        if (current.signal.aborted) return
        setState({ key, data, error: undefined, updatedAt: Date.now() })
      } catch (error) {
        if (current.signal.aborted) return
        setState((previous) => ({
          key,
          data: previous.key === key || keepPrevious ? previous.data : undefined,
          updatedAt: previous.key === key || keepPrevious ? previous.updatedAt : undefined,
          error: toApiError(error),
        }))
      } finally {
        if (!current.signal.aborted) {
          setFetching(false)
          schedule()
        }
      }
    }

    const onVisibility = () => {
      // A poll skipped while hidden runs as soon as the tab is shown again.
      if (!document.hidden && refreshMs > 0 && Date.now() - lastRun >= refreshMs) void run()
    }

    void run()
    document.addEventListener('visibilitychange', onVisibility)
    return () => {
      disposed = true
      window.clearTimeout(timer)
      controller?.abort()
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, [key, refreshMs, keepPrevious, skip, reloadToken])

  const reload = useCallback(() => setReloadToken((token) => token + 1), [])

  const sameKey = state.key === key
  const visible = sameKey || keepPrevious
  const data = visible ? state.data : undefined
  return {
    data,
    error: sameKey ? state.error : undefined,
    loading: !skip && data === undefined && (fetching || !sameKey),
    fetching: !skip && (fetching || !sameKey),
    stale: !sameKey && data !== undefined,
    updatedAt: visible ? state.updatedAt : undefined,
    reload,
  }
}
