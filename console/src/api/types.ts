// Response shapes of the control plane's REST API (`/api/v1`), taken from the types generated from
// its OpenAPI document (schema.d.ts, by openapi-typescript; refresh with scripts/build-console).
// Nothing here is written by hand but names for the schemas the console uses and a few literal
// unions for values the console branches on.

import type { components } from './schema.d.ts'

type Schemas = components['schemas']

/**
 * The server sends every field of these schemas (`null` when empty); the document marks Rust
 * `Option` fields as optional, so they are made required here.
 */
type Sent<T> = { [K in keyof T]-?: T[K] }

/** RFC 3339 timestamp as sent by the server, e.g. `2026-11-28T03:04:05.123Z`. */
export type Timestamp = string

export type AssetKind = 'table' | 'view' | 'materialized_view' | 'foreign_table' | 'file'

export type AssetSummary = Sent<Schemas['AssetSummary']>

export type ColumnDetail = Sent<Schemas['ColumnDetail']>

export type AssetDetail = Sent<Schemas['AssetDetail']> & { columns: ColumnDetail[] }

/** One page of a list, as `GET /api/v1/assets` returns it. */
export type Page<T> = Omit<Sent<Schemas['Page_AssetSummary']>, 'items'> & { items: T[] }

export type MetricName = 'row_count' | 'null_count'

export type MetricPoint = Sent<Schemas['MetricPoint']>

export type MetricSeries = { items: MetricPoint[] }

export type CheckStatus = 'pass' | 'fail' | 'error'

/** A check's latest outcome on an asset, with the statuses of its recent runs (newest first). */
export type CheckSummary = Sent<Schemas['CheckSummary']>

export type CheckList = { items: CheckSummary[] }

/** An asset's quality score: overall (null: not measured), coverage and the seven dimensions. */
export type AssetScore = Sent<Schemas['AssetScore']>

/** The API's one error body. */
export type ApiErrorBody = Schemas['ErrorBody']

/** Every schema of the API, by name, for code that needs one not named above. */
export type ApiSchemas = Schemas
