import { useEffect, useRef, type ReactNode } from 'react'
import { logout, type Session } from '../api/index.ts'
import { Link, useLocation } from '../router/index.ts'
import { Icon, type IconName } from './Icon.tsx'
import './Layout.css'

interface NavItem {
  label: string
  to: string
  icon: IconName
  /** Path prefixes that mark the item as current. */
  match: (pathname: string) => boolean
}

// Later waves add Quality, Lineage, Anomalies, Alerts here.
const NAV_SECTIONS: { title: string; items: NavItem[] }[] = [
  {
    title: 'Catalog',
    items: [
      {
        label: 'Assets',
        to: '/assets',
        icon: 'assets',
        match: (pathname) => pathname === '/' || pathname === '/assets' || pathname.startsWith('/assets/'),
      },
    ],
  },
]

export function Layout({ children, session }: { children: ReactNode; session: Session }) {
  const { pathname } = useLocation()
  const mainRef = useRef<HTMLElement>(null)
  const shownPath = useRef(pathname)

  // After in-app navigation to another page, move focus to the content (as a page load would), so
  // keyboard and screen-reader users start at the new page instead of the link they left.
  useEffect(() => {
    if (shownPath.current === pathname) return
    shownPath.current = pathname
    mainRef.current?.focus({ preventScroll: true })
  }, [pathname])

  return (
    <div className="app-shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <Link to="/" className="brand" aria-label="CWIC home">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path
              d="M8 19.5 12.5 15l4 3.5L24 11"
              fill="none"
              stroke="#fff"
              strokeWidth="3"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
          <span className="brand-text">
            <span className="brand-name">CWIC</span>
            <span className="brand-tagline">Data quality</span>
          </span>
        </Link>
        <nav className="sidebar-nav" aria-label="Main">
          {NAV_SECTIONS.map((section) => (
            <div className="nav-section" key={section.title}>
              <div className="nav-section-title" aria-hidden="true">
                {section.title}
              </div>
              <ul>
                {section.items.map((item) => {
                  const current = item.match(pathname)
                  return (
                    <li key={item.to}>
                      <Link
                        to={item.to}
                        className={current ? 'nav-link is-current' : 'nav-link'}
                        aria-current={current ? 'page' : undefined}
                      >
                        <Icon name={item.icon} />
                        {item.label}
                      </Link>
                    </li>
                  )
                })}
              </ul>
            </div>
          ))}
        </nav>
        <div className="sidebar-session" aria-label="Signed in">
          <span className="sidebar-session-email" title={session.email}>
            {session.email}
          </span>
          <span className="sidebar-session-meta">
            {session.tenant} · {session.role}
          </span>
          <button type="button" className="button button-small" onClick={() => void logout()}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1} ref={mainRef}>
        {children}
      </main>
    </div>
  )
}
