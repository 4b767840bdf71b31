import { useCallback, useMemo, useState, type ReactNode } from 'react'
import {
  getAsset,
  getAssetChecks,
  getAssetMetrics,
  getAssetScore,
  type AssetDetail,
  type AssetScore,
  type CheckSummary,
  type ColumnDetail,
  type MetricSeries,
} from '../api/index.ts'
import { ErrorBadge, KindBadge, SourceKindTag } from '../components/Badges.tsx'
import { Icon } from '../components/Icon.tsx'
import { LiveStatus } from '../components/LiveStatus.tsx'
import { NullBar } from '../components/NullBar.tsx'
import { RelativeTime } from '../components/RelativeTime.tsx'
import { SearchInput } from '../components/SearchInput.tsx'
import { Sparkline, type SparkPoint } from '../components/Sparkline.tsx'
import { ErrorState, RefreshErrorBanner, StateView } from '../components/StateView.tsx'
import { useDocumentTitle } from '../hooks/useDocumentTitle.ts'
import { useNow } from '../hooks/useNow.ts'
import { useResource } from '../hooks/useResource.ts'
import { REFRESH_SECONDS } from '../lib/config.ts'
import {
  formatCompact,
  formatCount,
  formatDateTime,
  formatPercent,
  formatRelative,
  isUuid,
  nullFraction,
  parseTime,
} from '../lib/format.ts'
import { Link } from '../router/index.ts'
import './AssetDetailPage.css'

/** Row-count observations drawn in the sparkline (newest N). */
const HISTORY_POINTS = 200

export function AssetDetailPage({ id }: { id: string }) {
  const validId = isUuid(id)
  const now = useNow(5_000)

  const assetFetcher = useCallback((signal: AbortSignal) => getAsset(id, signal), [id])
  const asset = useResource<AssetDetail>(`asset:${id}`, assetFetcher, {
    refreshMs: REFRESH_SECONDS * 1000,
    skip: !validId,
  })
  const historyFetcher = useCallback(
    (signal: AbortSignal) => getAssetMetrics(id, { metric: 'row_count', limit: HISTORY_POINTS }, signal),
    [id],
  )
  const history = useResource<MetricSeries>(`row-history:${id}`, historyFetcher, {
    refreshMs: REFRESH_SECONDS * 1000,
    skip: !validId,
  })

  const checksFetcher = useCallback((signal: AbortSignal) => getAssetChecks(id, signal), [id])
  const checks = useResource<{ items: CheckSummary[] }>(`checks:${id}`, checksFetcher, {
    refreshMs: REFRESH_SECONDS * 1000,
    skip: !validId,
  })

  const scoreFetcher = useCallback((signal: AbortSignal) => getAssetScore(id, signal), [id])
  const score = useResource<AssetScore>(`score:${id}`, scoreFetcher, {
    refreshMs: REFRESH_SECONDS * 1000,
    skip: !validId,
  })

  const data = asset.data
  useDocumentTitle(data ? `${data.schema_name}.${data.name}` : 'Asset')

  if (!validId || (data === undefined && asset.error?.isNotFound)) {
    return (
      <div className="page">
        <Breadcrumbs />
        <StateView
          icon="search"
          title="Asset not found"
          actions={
            <Link to="/assets" className="button">
              <Icon name="chevronLeft" size={14} /> All assets
            </Link>
          }
        >
          <p>
            No asset with id <code>{id}</code> exists for this tenant. It may have been removed, or the link may be
            wrong.
          </p>
        </StateView>
      </div>
    )
  }

  if (data === undefined) {
    return (
      <div className="page">
        <Breadcrumbs />
        {asset.error ? (
          <ErrorState error={asset.error} onRetry={asset.reload} what="this asset" />
        ) : (
          <div className="detail-loading" role="status">
            <span className="skeleton skeleton-title" />
            <span className="skeleton skeleton-line" />
            <span className="visually-hidden">Loading asset…</span>
          </div>
        )}
      </div>
    )
  }

  return (
    <div className="page">
      <Breadcrumbs asset={data} />
      <header className="page-header asset-header">
        <div className="page-heading">
          <div className="asset-title-row">
            <h1>
              <span className="asset-schema">{data.schema_name}.</span>
              {data.name}
            </h1>
            <KindBadge kind={data.kind} />
            {data.last_error && <ErrorBadge message={data.last_error} />}
          </div>
        </div>
        <LiveStatus
          updatedAt={asset.updatedAt}
          fetching={asset.fetching || history.fetching || checks.fetching || score.fetching}
          error={asset.error}
          refreshSeconds={REFRESH_SECONDS}
          now={now}
          onRefresh={() => {
            asset.reload()
            history.reload()
            checks.reload()
            score.reload()
          }}
        />
      </header>

      {asset.error && <RefreshErrorBanner error={asset.error} />}
      {data.last_error && (
        <div className="callout callout-danger" role="alert">
          <Icon name="alert" size={16} />
          <div>
            <strong>The latest observation of this asset failed.</strong>
            <pre className="callout-code">{data.last_error}</pre>
          </div>
        </div>
      )}

      <section className="overview" aria-label="Overview">
        <dl className="facts">
          <Fact label="Source">
            <span className="fact-inline">
              {data.source_name} <SourceKindTag kind={data.source_kind} />
            </span>
          </Fact>
          <Fact label="Agent">
            <span className="mono">{data.agent_id}</span>
          </Fact>
          <Fact label="Rows">
            <span className="fact-number" data-testid="asset-row-count">
              {formatCount(data.row_count)}
            </span>
          </Fact>
          <Fact label="Columns">
            <span className="fact-number">{formatCount(data.columns.length)}</span>
          </Fact>
          <Fact label="Last seen">
            <RelativeTime value={data.last_seen_at} now={now} />
          </Fact>
          <Fact label="First seen">
            <RelativeTime value={data.first_seen_at} now={now} />
          </Fact>
        </dl>
        <RowCountCard
          series={history.data}
          error={history.error}
          loading={history.loading}
          measured={data.row_count !== null}
          now={now}
        />
      </section>

      <ScoreSection score={score.data} error={score.error} />

      <ChecksSection checks={checks.data?.items} error={checks.error} now={now} />

      <ColumnsSection columns={data.columns} rowCount={data.row_count} />
    </div>
  )
}

function Breadcrumbs({ asset }: { asset?: AssetDetail }) {
  return (
    <nav className="breadcrumbs" aria-label="Breadcrumb">
      <ol>
        <li>
          <Link to="/assets">Assets</Link>
        </li>
        {asset && <li>{asset.source_name}</li>}
        {asset && (
          <li aria-current="page">
            {asset.schema_name}.{asset.name}
          </li>
        )}
      </ol>
    </nav>
  )
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  )
}

interface RowCountCardProps {
  series: MetricSeries | undefined
  error: { message: string } | undefined
  loading: boolean
  /** The asset has a row count (views are described but not measured). */
  measured: boolean
  now: number
}

function RowCountCard({ series, error, loading, measured, now }: RowCountCardProps) {
  const points: SparkPoint[] = useMemo(
    () =>
      (series?.items ?? [])
        .filter((point) => point.metric === 'row_count' && point.column === '')
        .map((point) => ({ time: parseTime(point.observed_at), value: point.value }))
        .filter((point) => Number.isFinite(point.time) && Number.isFinite(point.value))
        .sort((a, b) => a.time - b.time),
    [series],
  )
  const [hovered, setHovered] = useState<SparkPoint | null>(null)
  const first = points[0]
  const last = points[points.length - 1]
  const change = first && last && first !== last && first.value !== 0 ? (last.value - first.value) / first.value : null
  const values = points.map((point) => point.value)

  let body
  if (series === undefined && error) {
    body = <p className="card-message">History unavailable: {error.message}</p>
  } else if (series === undefined && loading) {
    body = <span className="skeleton skeleton-chart" />
  } else if (points.length === 0) {
    body = (
      <p className="card-message">
        {measured ? 'No row counts recorded yet.' : 'Not measured: the agent describes this asset but does not count its rows.'}
      </p>
    )
  } else if (points.length === 1) {
    body = (
      <p className="card-message">
        One observation so far (<RelativeTime value={new Date(points[0]?.time ?? 0).toISOString()} now={now} />). The
        trend appears after the next one.
      </p>
    )
  } else {
    body = (
      <>
        <Sparkline
          points={points}
          label={`Row count over ${points.length} observations: from ${formatCount(first?.value)} to ${formatCount(last?.value)}`}
          formatValue={(value) => `${formatCount(value)} rows`}
          formatTime={(time) => formatRelative(time, now)}
          onHoverChange={setHovered}
        />
        <div className="trend-axis">
          <span title={first ? formatDateTime(first.time) : undefined}>
            {first ? formatRelative(first.time, now) : ''}
          </span>
          <span>
            {Math.min(...values) === Math.max(...values)
              ? `steady at ${formatCompact(values[0])}`
              : `min ${formatCompact(Math.min(...values))} · max ${formatCompact(Math.max(...values))}`}
          </span>
          <span title={last ? formatDateTime(last.time) : undefined}>{last ? formatRelative(last.time, now) : ''}</span>
        </div>
      </>
    )
  }

  return (
    <section className="card trend-card" aria-labelledby="row-count-heading">
      <div className="card-header">
        <h2 id="row-count-heading">Row count</h2>
        <span className="card-meta">
          {points.length > 0 && `${points.length} ${points.length === 1 ? 'observation' : 'observations'}`}
        </span>
      </div>
      <div className="trend-value">
        <span className="trend-number">{formatCount((hovered ?? last)?.value)}</span>
        {hovered ? (
          <span className="trend-when" title={formatDateTime(hovered.time)}>
            {formatRelative(hovered.time, now)}
          </span>
        ) : change !== null && (
          <span className={`trend-change ${change > 0 ? 'is-up' : change < 0 ? 'is-down' : ''}`}>
            {change > 0 ? '▲ ' : change < 0 ? '▼ ' : ''}
            {change === 0 ? 'no change' : formatPercent(Math.abs(change))}
            <span className="visually-hidden"> since the first observation shown</span>
          </span>
        )}
      </div>
      {body}
    </section>
  )
}

const DIMENSIONS = [
  ['completeness', 'Completeness'],
  ['accuracy', 'Accuracy'],
  ['consistency', 'Consistency'],
  ['timeliness', 'Timeliness'],
  ['uniqueness', 'Uniqueness'],
  ['validity', 'Validity'],
  ['integrity', 'Integrity'],
] as const

function scoreText(value: number | null | undefined): string {
  return value === null || value === undefined ? 'Not measured' : value.toFixed(1)
}

/**
 * The quality score: overall, its coverage (the weight share measured) and each of the seven
 * dimensions, "Not measured" where there is no evidence — never 100.
 */
function ScoreSection({ score, error }: { score: AssetScore | undefined; error: { message: string } | undefined }) {
  if (score === undefined) {
    return error ? <p className="footnote">Quality score unavailable: {error.message}</p> : null
  }
  const trend = score.trend_24h
  return (
    <section className="score-section" aria-labelledby="score-heading">
      <div className="section-header">
        <h2 id="score-heading">Quality score</h2>
        <span className="trend-when">
          {score.computed_at ? `computed ${formatDateTime(score.computed_at)}` : 'not computed yet'}
        </span>
      </div>
      <div className="score-card card">
        <div className="score-overall">
          <span
            className={`score-number ${score.score === null ? 'is-unmeasured' : ''}`}
            data-testid="asset-score"
          >
            {scoreText(score.score)}
          </span>
          <span className="trend-when">
            {formatPercent(score.coverage)} of the weight measured
            {trend !== null && trend !== undefined && (
              <span className={`trend-change ${trend >= 0 ? 'is-up' : 'is-down'}`}>
                {' '}
                {trend >= 0 ? '+' : ''}
                {trend.toFixed(1)} in 24 h
              </span>
            )}
          </span>
          {score.computed_at === null && (
            <p className="footnote">The score is computed when an agent ships this asset's metrics or check results.</p>
          )}
        </div>
        <dl className="score-dimensions">
          {DIMENSIONS.map(([key, label]) => {
            const dimension = score.dimensions[key]
            const measured = dimension.score !== null && dimension.score !== undefined
            return (
              <div key={key} className="score-dimension" data-dimension={key} data-measured={measured}>
                <dt>
                  {label} <span className="muted">×{score.weights[key].toFixed(2)}</span>
                </dt>
                <dd className={measured ? '' : 'is-unmeasured'} title={measured ? evidenceTitle(dimension.evidence) : 'No check or metric measures this dimension yet'}>
                  {scoreText(dimension.score)}
                </dd>
              </div>
            )
          })}
        </dl>
      </div>
    </section>
  )
}

function evidenceTitle(evidence: AssetScore['dimensions']['completeness']['evidence']): string {
  return evidence
    .slice(0, 8)
    .map((item) => `${item.kind === 'check' ? item.name : `${item.name}${item.column ? ` (${item.column})` : ''}`}: ${item.detail}`)
    .join('\n')
}

const STATUS_LABEL: Record<string, string> = { pass: 'Pass', fail: 'Fail', error: 'Error' }

/** The checks agents run on this asset; renders nothing until an agent has shipped a result. */
function ChecksSection({
  checks,
  error,
  now,
}: {
  checks: CheckSummary[] | undefined
  error: { message: string } | undefined
  now: number
}) {
  if (checks === undefined) {
    return error ? <p className="footnote">Check results unavailable: {error.message}</p> : null
  }
  if (checks.length === 0) return null
  const failing = checks.filter((check) => check.status !== 'pass').length

  return (
    <section className="checks-section" aria-labelledby="checks-heading">
      <div className="section-header">
        <h2 id="checks-heading">
          Checks <span className="count-pill">{checks.length}</span>
        </h2>
        <span className={`checks-summary ${failing > 0 ? 'is-failing' : 'is-passing'}`}>
          {failing === 0 ? 'All passing' : `${failing} of ${checks.length} not passing`}
        </span>
      </div>
      <div className="table-card">
        <table className="data-table checks-table" aria-labelledby="checks-heading">
          <colgroup>
            <col className="col-status" />
            <col />
            <col className="col-severity" />
            <col className="col-dimension" />
            <col className="col-result" />
            <col className="col-history" />
            <col className="col-when" />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Check</th>
              <th scope="col">Severity</th>
              <th scope="col">Dimension</th>
              <th scope="col">Result</th>
              <th scope="col">Recent runs</th>
              <th scope="col">Checked</th>
            </tr>
          </thead>
          <tbody>
            {checks.map((check) => (
              <tr key={check.check_name} data-check-name={check.check_name} data-check-status={check.status}>
                <td>
                  <span className={`badge badge-check check-${check.status}`}>
                    {STATUS_LABEL[check.status] ?? check.status}
                  </span>
                </td>
                <th scope="row" className="cell-check-name">
                  <span className="mono">{check.check_name}</span>
                  {check.owner && <span className="check-owner">owner {check.owner}</span>}
                </th>
                <td>
                  <span className={`severity severity-${check.severity}`}>{check.severity}</span>
                </td>
                <td className="muted">{check.dimension}</td>
                <td className="check-result" title={check.message}>
                  {check.failing_rows !== null && check.total_rows !== null ? (
                    <>
                      <strong>{formatCount(check.failing_rows)}</strong>
                      <span className="muted"> of {formatCount(check.total_rows)} rows fail</span>
                      {check.status === 'pass' && check.failing_rows > 0 && (
                        <span className="muted"> · within tolerance</span>
                      )}
                    </>
                  ) : (
                    <span>{check.message}</span>
                  )}
                </td>
                <td>
                  <CheckHistory history={check.history} />
                </td>
                <td className="muted">
                  <RelativeTime value={check.observed_at} now={now} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  )
}

/** One square per recent run, oldest on the left. */
function CheckHistory({ history }: { history: CheckSummary['history'] }) {
  const runs = [...history].reverse()
  const passed = runs.filter((run) => run.status === 'pass').length
  return (
    <span className="check-history" role="img" aria-label={`${passed} of ${runs.length} recent runs passed`}>
      {runs.map((run) => (
        <span
          key={run.observed_at}
          className={`check-run check-${run.status}`}
          title={`${formatDateTime(parseTime(run.observed_at))}: ${run.status}${
            run.failing_rows !== null ? ` (${formatCount(run.failing_rows)} failing rows)` : ''
          }`}
        />
      ))}
    </span>
  )
}

function ColumnsSection({ columns, rowCount }: { columns: ColumnDetail[]; rowCount: number | null }) {
  const [filter, setFilter] = useState('')
  const [onlyNulls, setOnlyNulls] = useState(false)
  const needle = filter.trim().toLowerCase()
  const visible = columns.filter(
    (column) =>
      (!needle || column.name.toLowerCase().includes(needle) || column.data_type.toLowerCase().includes(needle)) &&
      (!onlyNulls || (column.null_count ?? 0) > 0),
  )
  const withNulls = columns.filter((column) => (column.null_count ?? 0) > 0).length

  return (
    <section className="columns-section" aria-labelledby="columns-heading">
      <div className="section-header">
        <h2 id="columns-heading">
          Columns <span className="count-pill">{columns.length}</span>
        </h2>
        <div className="section-tools">
          <label className="checkbox">
            <input type="checkbox" checked={onlyNulls} onChange={(event) => setOnlyNulls(event.target.checked)} />
            With NULLs ({withNulls})
          </label>
          <SearchInput
            id="column-search"
            label="Filter columns by name or type"
            placeholder="Filter columns…"
            value={filter}
            onChange={setFilter}
          />
        </div>
      </div>
      <div className="table-card">
        <table className="data-table columns-table" aria-labelledby="columns-heading">
          <colgroup>
            <col className="col-ordinal" />
            <col />
            <col className="col-type" />
            <col className="col-nullable" />
            <col className="col-num" />
            <col className="col-bar" />
          </colgroup>
          <thead>
            <tr>
              <th scope="col" className="num">
                #
              </th>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Nullable</th>
              <th scope="col" className="num">
                NULLs
              </th>
              <th scope="col">NULL %</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((column) => (
              <tr key={column.name}>
                <td className="num muted">{column.ordinal}</td>
                <th scope="row" className="cell-column-name">
                  {column.name}
                </th>
                <td>
                  <span className="type">{column.data_type}</span>
                </td>
                <td>{column.nullable ? <span className="muted">Yes</span> : <span className="tag">NOT NULL</span>}</td>
                <td className="num" data-col="null-count">
                  {formatCount(column.null_count)}
                </td>
                <td data-col="null-pct">
                  <NullBar fraction={nullFraction(column.null_count, rowCount)} />
                </td>
              </tr>
            ))}
            {visible.length === 0 && (
              <tr>
                <td colSpan={6} className="empty-cell">
                  {columns.length === 0 ? 'No columns recorded for this asset.' : 'No columns match the filter.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {rowCount === null && columns.length > 0 && (
        <p className="footnote">NULL shares need a row count; this asset is described but not measured.</p>
      )}
    </section>
  )
}
