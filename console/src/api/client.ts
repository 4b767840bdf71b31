// Minimal fetch wrapper for the control plane's REST API. Same origin: the control plane serves the
// console and the API together (in development Vite proxies `/api`).

import type { ApiErrorBody } from './types.ts'
import { accessToken, refreshSession, sessionRejected } from './session.ts'

/** Error codes the console adds for failures that never reached the API. */
export type ClientErrorCode = 'network' | 'bad_response'

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }

  get isNotFound(): boolean {
    return this.status === 404 || this.code === 'not_found'
  }
}

export type QueryValue = string | number | boolean | null | undefined

export interface RequestOptions {
  query?: Record<string, QueryValue>
  signal?: AbortSignal
}

export const API_BASE = '/api/v1'

export function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const search = params.toString()
  return `${API_BASE}${path}${search ? `?${search}` : ''}`
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  )
}

async function send(url: string, signal: AbortSignal | undefined, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  try {
    return await fetch(url, { headers, signal })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(0, 'network', 'Cannot reach the CWIC control plane. Is it running?')
  }
}

/**
 * GETs a JSON resource as the signed-in user; throws {@link ApiError} for HTTP errors, network
 * failures and non-JSON bodies. A refused token is renewed once through the refresh cookie; if that
 * fails too the session ends and the console shows the sign-in page.
 */
export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const url = buildUrl(path, options.query)
  let response = await send(url, options.signal, await accessToken())
  if (response.status === 401) {
    const renewed = await refreshSession()
    if (!renewed) {
      sessionRejected()
    } else {
      response = await send(url, options.signal, renewed.accessToken)
    }
  }

  const text = await response.text()
  let body: unknown = undefined
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
  }

  if (!response.ok) {
    if (isErrorBody(body)) throw new ApiError(response.status, body.code, body.message, body.details)
    const reason = response.statusText ? ` ${response.statusText}` : ''
    throw new ApiError(response.status, 'http_error', `The server answered HTTP ${response.status}${reason}.`)
  }
  if (body === undefined) {
    throw new ApiError(response.status, 'bad_response', `The server sent a response that is not JSON (${url}).`)
  }
  return body as T
}
