// Response shapes of the control plane's REST API (`/api/v1`). Mirrors control-plane/src/store/assets.rs:
// keep the two in step when the API changes.

/** RFC 3339 timestamp as sent by the server, e.g. `2026-11-28T03:04:05.123Z`. */
export type Timestamp = string

export type AssetKind = 'table' | 'view' | 'materialized_view' | 'foreign_table' | 'file'

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export interface AssetSummary {
  id: string
  source_name: string
  /** Kind of the source the agent reads, e.g. `postgres`. */
  source_kind: string
  schema_name: string
  name: string
  /** One of {@link AssetKind}; typed as string too so a newer server's kind still renders. */
  kind: AssetKind | (string & {})
  agent_id: string
  first_seen_at: Timestamp
  last_seen_at: Timestamp
  last_error: string | null
  /** Latest measured row count; null for assets that are described but not measured (views). */
  row_count: number | null
  column_count: number
}

export interface ColumnDetail {
  name: string
  ordinal: number
  data_type: string
  nullable: boolean
  /** Latest NULL count, null when the asset is not measured. */
  null_count: number | null
}

export interface AssetDetail extends AssetSummary {
  columns: ColumnDetail[]
}

export type MetricName = 'row_count' | 'null_count'

export interface MetricPoint {
  metric: MetricName | (string & {})
  /** Empty for table-level metrics such as `row_count`. */
  column: string
  observed_at: Timestamp
  value: number
  batch_id: string
}

export interface MetricSeries {
  /** Newest first. */
  items: MetricPoint[]
}

export type CheckStatus = 'pass' | 'fail' | 'error'

/** A check's latest outcome on an asset, with the statuses of its recent runs (newest first). */
export interface CheckSummary {
  check_name: string
  observed_at: Timestamp
  template: string
  /** One of the seven quality dimensions, e.g. `completeness`. */
  dimension: string
  severity: 'critical' | 'high' | 'medium' | 'low' | (string & {})
  status: CheckStatus | (string & {})
  columns: string[]
  failing_rows: number | null
  total_rows: number | null
  /** Measured value of a metric check, as text; empty for row checks. */
  value: string
  message: string
  owner: string
  tags: string[]
  history: { observed_at: Timestamp; status: CheckStatus | (string & {}); failing_rows: number | null }[]
}

/** The API's one error body. */
export interface ApiErrorBody {
  code: string
  message: string
  details: unknown
}
