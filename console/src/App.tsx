import { useEffect, useState } from 'react'
import { currentSession, mayHaveSession, onSessionChange, refreshSession, type Session } from './api/index.ts'
import { Layout } from './components/Layout.tsx'
import { StateView } from './components/StateView.tsx'
import { LoginPage } from './pages/LoginPage.tsx'
import { AssetDetailPage } from './pages/AssetDetailPage.tsx'
import { AssetsPage } from './pages/AssetsPage.tsx'
import { NotFoundPage } from './pages/NotFoundPage.tsx'
import { Routes, type Route } from './router/index.ts'

const routes: Route[] = [
  { path: '/', render: () => <AssetsPage /> },
  { path: '/assets', render: () => <AssetsPage /> },
  // keyed by id so moving between assets starts from a clean state
  { path: '/assets/:id', render: ({ id = '' }) => <AssetDetailPage key={id} id={id} /> },
]

/** Resumes the session from the refresh cookie on load; shows sign-in until there is one. */
function useSession(): Session | null | 'checking' {
  const [session, setSession] = useState<Session | null | 'checking'>(
    () => currentSession() ?? (mayHaveSession() ? 'checking' : null),
  )
  useEffect(() => {
    const unsubscribe = onSessionChange(setSession)
    if (!currentSession() && mayHaveSession()) void refreshSession()
    return () => {
      unsubscribe()
    }
  }, [])
  return session
}

export function App() {
  const session = useSession()
  if (session === 'checking') return <StateView icon="refresh" title="Opening CWIC…" role="status" />
  if (!session) return <LoginPage />
  return (
    <Layout session={session}>
      <Routes routes={routes} fallback={<NotFoundPage />} />
    </Layout>
  )
}
