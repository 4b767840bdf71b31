import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent } from 'react'
import { listAssets, type AssetSummary, type Page } from '../api/index.ts'
import { ErrorBadge, KindBadge, SourceKindTag } from '../components/Badges.tsx'
import { CopyCommand } from '../components/CopyCommand.tsx'
import { Icon } from '../components/Icon.tsx'
import { LiveStatus } from '../components/LiveStatus.tsx'
import { RelativeTime } from '../components/RelativeTime.tsx'
import { SearchInput } from '../components/SearchInput.tsx'
import { ErrorState, RefreshErrorBanner, StateView } from '../components/StateView.tsx'
import { useDebounced } from '../hooks/useDebounced.ts'
import { useDocumentTitle } from '../hooks/useDocumentTitle.ts'
import { useNow } from '../hooks/useNow.ts'
import { useResource } from '../hooks/useResource.ts'
import { AGENT_COMMAND, REFRESH_SECONDS } from '../lib/config.ts'
import { formatCount } from '../lib/format.ts'
import { Link, navigate, useLocation, useSearchParam, withSearchParams } from '../router/index.ts'
import './AssetsPage.css'

const PAGE_SIZE = 100
const COLUMN_COUNT = 5

interface SourceGroup {
  source: string
  sourceKind: string
  assets: AssetSummary[]
}

/** Groups consecutive assets by source; the API already orders by source, schema, name. */
function groupBySource(items: AssetSummary[]): SourceGroup[] {
  const groups: SourceGroup[] = []
  for (const asset of items) {
    const last = groups[groups.length - 1]
    if (last && last.source === asset.source_name) last.assets.push(asset)
    else groups.push({ source: asset.source_name, sourceKind: asset.source_kind, assets: [asset] })
  }
  return groups
}

export function AssetsPage() {
  useDocumentTitle('Assets')
  const location = useLocation()
  const urlQuery = useSearchParam('q')
  const page = Math.max(1, Number.parseInt(useSearchParam('page'), 10) || 1)
  const [input, setInput] = useState(urlQuery)
  const query = useDebounced(input.trim(), 250)
  const now = useNow(5_000)

  // Keep the box in step when the URL changes from outside (back/forward, "Clear search"): adjust
  // state during render rather than in an effect.
  const [seenUrlQuery, setSeenUrlQuery] = useState(urlQuery)
  if (urlQuery !== seenUrlQuery) {
    setSeenUrlQuery(urlQuery)
    if (input.trim() !== urlQuery) setInput(urlQuery)
  }

  // Mirror what the user typed (debounced) into the URL, so a search can be shared and survives a
  // reload. Only a change of the typed query navigates; a URL change alone never writes back.
  const mirroredQuery = useRef(query)
  useEffect(() => {
    if (query === mirroredQuery.current) return
    mirroredQuery.current = query
    if (query !== urlQuery) navigate(withSearchParams(location, { q: query, page: '' }), { replace: true })
  }, [query, urlQuery, location])

  const offset = (page - 1) * PAGE_SIZE
  const fetcher = useCallback(
    (signal: AbortSignal) => listAssets({ q: urlQuery || undefined, limit: PAGE_SIZE, offset }, signal),
    [urlQuery, offset],
  )
  const assets = useResource<Page<AssetSummary>>(`assets?q=${urlQuery}&offset=${offset}`, fetcher, {
    refreshMs: REFRESH_SECONDS * 1000,
    keepPrevious: true,
  })

  const data = assets.data
  const groups = useMemo(() => groupBySource(data?.items ?? []), [data])

  let content
  if (data === undefined && assets.error) {
    content = <ErrorState error={assets.error} onRetry={assets.reload} what="assets" />
  } else if (data === undefined) {
    content = <AssetsTableSkeleton />
  } else if (data.total === 0 && !urlQuery) {
    content = (
      <StateView icon="terminal" title="No assets yet" role="status">
        <p>
          Assets appear here once an agent has observed a source. Start an agent next to your database with a config
          that points at this control plane:
        </p>
        <CopyCommand command={AGENT_COMMAND} />
        <p className="state-hint">This page refreshes every {REFRESH_SECONDS} seconds.</p>
      </StateView>
    )
  } else if (data.items.length === 0) {
    content = (
      <StateView
        icon="search"
        title={urlQuery ? `No assets match “${urlQuery}”` : 'No assets on this page'}
        role="status"
        actions={
          <button type="button" className="button" onClick={() => navigate('/assets')}>
            {urlQuery ? 'Clear search' : 'Back to first page'}
          </button>
        }
      >
        {urlQuery && <p>The search matches part of schema.name, ignoring case.</p>}
      </StateView>
    )
  } else {
    content = (
      <>
        <AssetsTable groups={groups} now={now} busy={assets.stale} paginated={data.total > data.items.length} />
        <Pagination page={page} total={data.total} shown={data.items.length} offset={data.offset} />
      </>
    )
  }

  return (
    <div className="page">
      <header className="page-header">
        <div className="page-heading">
          <h1>Assets</h1>
          <p className="page-subtitle">Tables, views and files your agents have discovered.</p>
        </div>
        <LiveStatus
          updatedAt={assets.updatedAt}
          fetching={assets.fetching}
          error={assets.error}
          refreshSeconds={REFRESH_SECONDS}
          now={now}
          onRefresh={assets.reload}
        />
      </header>

      <div className="toolbar">
        <SearchInput
          id="asset-search"
          label="Search assets by schema.name"
          placeholder="Search schema.name…"
          value={input}
          onChange={setInput}
          slashShortcut
        />
        {data !== undefined && (
          <span className="toolbar-summary" aria-live="polite">
            {urlQuery
              ? `${formatCount(data.total)} ${data.total === 1 ? 'match' : 'matches'}`
              : `${formatCount(data.total)} ${data.total === 1 ? 'asset' : 'assets'}`}
          </span>
        )}
      </div>

      {data !== undefined && assets.error && <RefreshErrorBanner error={assets.error} />}
      {content}
    </div>
  )
}

function onRowClick(event: MouseEvent<HTMLTableRowElement>, to: string) {
  // The name cell holds the real link (keyboard, middle-click, copy link); the rest of the row is a
  // mouse convenience. Leave clicks on links and text selections alone.
  if ((event.target as HTMLElement).closest('a, button')) return
  if (window.getSelection()?.toString()) return
  navigate(to)
}

interface AssetsTableProps {
  groups: SourceGroup[]
  now: number
  /** Rows belong to a previous search while the new one loads. */
  busy: boolean
  /** Only part of the assets is shown, so per-source counts would mislead. */
  paginated: boolean
}

function AssetsTable({ groups, now, busy, paginated }: AssetsTableProps) {
  return (
    <div className="table-card">
      <table className="data-table assets-table" aria-label="Assets" aria-busy={busy || undefined}>
        <colgroup>
          <col />
          <col className="col-kind" />
          <col className="col-num" />
          <col className="col-num-sm" />
          <col className="col-time" />
        </colgroup>
        <thead>
          <tr>
            <th scope="col">Asset</th>
            <th scope="col">Kind</th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col" className="num">
              Columns
            </th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        {groups.map((group, index) => (
          <tbody key={`${group.source}-${index}`}>
            <tr className="group-row">
              <th scope="rowgroup" colSpan={COLUMN_COUNT}>
                <span className="group-title">
                  <Icon name="server" size={14} />
                  <span className="group-name">{group.source}</span>
                  <SourceKindTag kind={group.sourceKind} />
                  {!paginated && (
                    <span className="group-count">
                      {group.assets.length} {group.assets.length === 1 ? 'asset' : 'assets'}
                    </span>
                  )}
                </span>
              </th>
            </tr>
            {group.assets.map((asset) => {
              const to = `/assets/${asset.id}`
              return (
                <tr
                  key={asset.id}
                  className={asset.last_error ? 'asset-row has-error' : 'asset-row'}
                  data-asset-id={asset.id}
                  data-asset-name={asset.name}
                  data-asset-qualified-name={`${asset.schema_name}.${asset.name}`}
                  onClick={(event) => onRowClick(event, to)}
                >
                  <td className="cell-asset">
                    <span className="cell-asset-inner">
                      <Link to={to} className="asset-link" title={`${asset.schema_name}.${asset.name}`}>
                        <span className="asset-schema">{asset.schema_name}.</span>
                        <span className="asset-name">{asset.name}</span>
                      </Link>
                      {asset.last_error && <ErrorBadge message={asset.last_error} />}
                    </span>
                  </td>
                  <td>
                    <KindBadge kind={asset.kind} />
                  </td>
                  <td className="num" data-col="rows">
                    {asset.row_count === null ? (
                      <span className="muted" title="Not measured">
                        —
                      </span>
                    ) : (
                      formatCount(asset.row_count)
                    )}
                  </td>
                  <td className="num" data-col="columns">
                    {formatCount(asset.column_count)}
                  </td>
                  <td className="cell-time" data-col="last-seen">
                    <RelativeTime value={asset.last_seen_at} now={now} />
                  </td>
                </tr>
              )
            })}
          </tbody>
        ))}
      </table>
    </div>
  )
}

function AssetsTableSkeleton() {
  return (
    <div className="table-card skeleton-card" aria-busy="true">
      <span className="visually-hidden" role="status">
        Loading assets…
      </span>
      <div className="skeleton-header" aria-hidden="true" />
      {Array.from({ length: 8 }, (_, index) => (
        <div className="skeleton-row" key={index} aria-hidden="true">
          <span className="skeleton" style={{ width: `${30 + ((index * 17) % 25)}%` }} />
          <span className="skeleton" style={{ width: 48 }} />
          <span className="skeleton" style={{ width: 64 }} />
          <span className="skeleton" style={{ width: 20 }} />
          <span className="skeleton" style={{ width: 60 }} />
        </div>
      ))}
    </div>
  )
}

function Pagination({ page, total, shown, offset }: { page: number; total: number; shown: number; offset: number }) {
  const location = useLocation()
  if (total <= PAGE_SIZE && page === 1) return null
  const lastPage = Math.max(1, Math.ceil(total / PAGE_SIZE))
  const to = (target: number) => withSearchParams(location, { page: target > 1 ? String(target) : '' })
  return (
    <nav className="pagination" aria-label="Pages">
      <span className="pagination-summary">
        {formatCount(offset + 1)}–{formatCount(offset + shown)} of {formatCount(total)}
      </span>
      {page > 1 ? (
        <Link to={to(page - 1)} className="button button-small" rel="prev">
          <Icon name="chevronLeft" size={14} /> Previous
        </Link>
      ) : (
        <span className="button button-small is-disabled" aria-disabled="true">
          <Icon name="chevronLeft" size={14} /> Previous
        </span>
      )}
      {page < lastPage ? (
        <Link to={to(page + 1)} className="button button-small" rel="next">
          Next <Icon name="chevronRight" size={14} />
        </Link>
      ) : (
        <span className="button button-small is-disabled" aria-disabled="true">
          Next <Icon name="chevronRight" size={14} />
        </span>
      )}
    </nav>
  )
}
