import { useState, type FormEvent } from 'react'
import { ApiError, login } from '../api/index.ts'
import { useDocumentTitle } from '../hooks/useDocumentTitle.ts'
import './LoginPage.css'

/** Single sign-on: the workspace's identity provider signs the user in and sends them back here. */
function SsoSignIn() {
  const [workspace, setWorkspace] = useState('')
  const slug = workspace.trim().toLowerCase()
  return (
    <div className="login-sso">
      <span className="login-sso-divider">or use your company's sign-in</span>
      <div className="login-sso-row">
        <input
          aria-label="Workspace"
          placeholder="workspace"
          value={workspace}
          onChange={(event) => setWorkspace(event.target.value)}
        />
        <a
          className={slug ? 'button' : 'button is-disabled'}
          aria-disabled={!slug}
          href={slug ? `/api/v1/auth/sso/${encodeURIComponent(slug)}/start` : undefined}
        >
          Continue with SSO
        </a>
      </div>
    </div>
  )
}

/** Sign-in with e-mail and password; asks for the tenant only when the account belongs to several. */
export function LoginPage() {
  useDocumentTitle('Sign in')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [tenants, setTenants] = useState<string[] | null>(null)
  const [tenant, setTenant] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit(event: FormEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await login(email.trim(), password, tenants ? tenant : undefined)
    } catch (caught) {
      if (caught instanceof ApiError && caught.code === 'tenant_required') {
        const choices = ((caught.details as { tenants?: string[] } | null)?.tenants ?? []).filter(Boolean)
        setTenants(choices)
        setTenant(choices[0] ?? '')
        setError('This account belongs to several workspaces. Choose one.')
      } else {
        setError(caught instanceof Error ? caught.message : 'Sign-in failed.')
      }
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="login-screen">
      <form className="login-card card" onSubmit={submit} aria-label="Sign in">
        <div className="login-brand">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path d="M8 19.5 12.5 15l4 3.5L24 11" fill="none" stroke="#fff" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <div>
            <h1 className="login-title">Sign in to CWIC</h1>
            <p className="login-subtitle">Data quality, where your data lives.</p>
          </div>
        </div>
        <label className="login-field">
          <span>E-mail</span>
          <input name="email" type="email" autoComplete="username" required value={email} onChange={(event) => setEmail(event.target.value)} autoFocus />
        </label>
        <label className="login-field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
        </label>
        {tenants && (
          <label className="login-field">
            <span>Workspace</span>
            <select name="tenant" value={tenant} onChange={(event) => setTenant(event.target.value)}>
              {tenants.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        )}
        {error && (
          <p className="error-message" role="alert">
            {error}
          </p>
        )}
        <button className="button login-submit" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <SsoSignIn />
      </form>
    </div>
  )
}
