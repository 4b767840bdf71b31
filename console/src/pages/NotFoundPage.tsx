import { Icon } from '../components/Icon.tsx'
import { StateView } from '../components/StateView.tsx'
import { useDocumentTitle } from '../hooks/useDocumentTitle.ts'
import { Link, useLocation } from '../router/index.ts'

export function NotFoundPage() {
  useDocumentTitle('Not found')
  const { pathname } = useLocation()
  return (
    <div className="page">
      <StateView
        icon="search"
        title="Page not found"
        actions={
          <Link to="/assets" className="button">
            <Icon name="chevronLeft" size={14} /> Go to assets
          </Link>
        }
      >
        <p>
          Nothing lives at <code>{pathname}</code>.
        </p>
      </StateView>
    </div>
  )
}
