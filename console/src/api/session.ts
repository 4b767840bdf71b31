// The signed-in session: the short-lived access token lives in memory only; the refresh token is an
// HttpOnly cookie the control plane sets (scoped to /api/v1/auth), so scripts on the page never see it.
// A reload or an expired access token trades the cookie for a new access token.

import { API_BASE, ApiError } from './client.ts'

export interface Session {
  accessToken: string
  tenant: string
  role: 'viewer' | 'editor' | 'admin' | 'owner'
  email: string
  /** Epoch milliseconds after which the access token is treated as expired. */
  expiresAt: number
}

type Listener = (session: Session | null) => void

let current: Session | null = null
const listeners = new Set<Listener>()
let refreshing: Promise<Session | null> | null = null

export function currentSession(): Session | null {
  return current
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** Remembers (not secret) that this browser has a session, so a first visit skips the refresh call. */
const SIGNED_IN_HINT = 'cwic.signed-in'

export function mayHaveSession(): boolean {
  // Back from single sign-on: the control plane has just set the refresh cookie.
  if (new URLSearchParams(window.location.search).has('sso')) return true
  try {
    return localStorage.getItem(SIGNED_IN_HINT) === '1'
  } catch {
    return true
  }
}

function setSession(session: Session | null) {
  current = session
  try {
    if (session) localStorage.setItem(SIGNED_IN_HINT, '1')
    else localStorage.removeItem(SIGNED_IN_HINT)
  } catch {
    // storage disabled: every load tries the refresh cookie
  }
  for (const listener of listeners) listener(session)
}

interface SessionBody {
  access_token: string
  expires_in: number
  tenant: string
  role: Session['role']
  email: string
}

function fromBody(body: SessionBody): Session {
  // Renew a little early so a request never leaves with a token about to expire.
  const margin = Math.min(60, body.expires_in / 4)
  return {
    accessToken: body.access_token,
    tenant: body.tenant,
    role: body.role,
    email: body.email,
    expiresAt: Date.now() + (body.expires_in - margin) * 1000,
  }
}

async function post(path: string, body?: unknown): Promise<Response> {
  try {
    return await fetch(`${API_BASE}${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the CWIC control plane. Is it running?')
  }
}

async function errorFrom(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => null)) as { code?: string; message?: string; details?: unknown } | null
  return new ApiError(
    response.status,
    body?.code ?? 'http_error',
    body?.message ?? `The server answered HTTP ${response.status}.`,
    body?.details ?? null,
  )
}

/** Signs in; throws {@link ApiError} (code `tenant_required` lists the tenants in `details.tenants`). */
export async function login(email: string, password: string, tenant?: string): Promise<Session> {
  const response = await post('/auth/login', { email, password, ...(tenant ? { tenant } : {}) })
  if (!response.ok) throw await errorFrom(response)
  const session = fromBody((await response.json()) as SessionBody)
  setSession(session)
  return session
}

/** Trades the refresh cookie for a new session; null (signed out) when there is none or it was revoked. */
export function refreshSession(): Promise<Session | null> {
  refreshing ??= (async () => {
    try {
      const response = await post('/auth/refresh')
      const session = response.ok ? fromBody((await response.json()) as SessionBody) : null
      setSession(session)
      return session
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

/** A valid access token, renewed through the cookie when the current one is about to expire. */
export async function accessToken(): Promise<string | null> {
  if (current && Date.now() < current.expiresAt) return current.accessToken
  return (await refreshSession())?.accessToken ?? null
}

export async function logout(): Promise<void> {
  try {
    await post('/auth/logout')
  } finally {
    setSession(null)
  }
}

/** Called when the API refused the token: the session is gone (revoked, role removed). */
export function sessionRejected() {
  setSession(null)
}
