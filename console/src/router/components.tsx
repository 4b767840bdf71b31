import type { AnchorHTMLAttributes, MouseEvent, ReactNode } from 'react'
import { matchPath, navigate, useLocation, type Params } from './navigation.ts'

export interface Route {
  path: string
  render: (params: Params) => ReactNode
}

/** Renders the first route whose pattern matches the current path, else `fallback`. */
export function Routes({ routes, fallback }: { routes: Route[]; fallback: ReactNode }) {
  const { pathname } = useLocation()
  for (const route of routes) {
    const params = matchPath(route.path, pathname)
    if (params) return route.render(params)
  }
  return fallback
}

function isPlainLeftClick(event: MouseEvent<HTMLAnchorElement>): boolean {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey
}

export interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string
}

/** An `<a href>` that navigates in-app on a plain click and keeps open-in-new-tab working. */
export function Link({ to, onClick, target, ...rest }: LinkProps) {
  return (
    // oxlint-disable-next-line jsx-a11y/anchor-has-content -- content arrives through `rest.children`
    <a
      {...rest}
      href={to}
      target={target}
      onClick={(event) => {
        onClick?.(event)
        if (event.defaultPrevented || !isPlainLeftClick(event) || (target && target !== '_self')) return
        event.preventDefault()
        navigate(to)
      }}
    />
  )
}
