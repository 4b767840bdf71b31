import { Layout } from './components/Layout.tsx'
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

export function App() {
  return (
    <Layout>
      <Routes routes={routes} fallback={<NotFoundPage />} />
    </Layout>
  )
}
