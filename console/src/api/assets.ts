import { getJson } from './client.ts'
import type { AssetDetail, AssetScore, AssetSummary, CheckList, MetricName, MetricSeries, Page } from './types.ts'

export interface ListAssetsParams {
  /** Part of `schema.name`, case-insensitive. */
  q?: string
  limit?: number
  offset?: number
}

export function listAssets(params: ListAssetsParams, signal?: AbortSignal): Promise<Page<AssetSummary>> {
  return getJson('/assets', { query: { q: params.q, limit: params.limit, offset: params.offset }, signal })
}

export function getAsset(id: string, signal?: AbortSignal): Promise<AssetDetail> {
  return getJson(`/assets/${encodeURIComponent(id)}`, { signal })
}

export interface MetricParams {
  metric?: MetricName
  /** Column name; table-level metrics have the empty column. */
  column?: string
  since?: string
  until?: string
  limit?: number
}

/** Metric history of one asset, newest first. */
export function getAssetMetrics(id: string, params: MetricParams, signal?: AbortSignal): Promise<MetricSeries> {
  return getJson(`/assets/${encodeURIComponent(id)}/metrics`, {
    query: {
      metric: params.metric,
      column: params.column,
      since: params.since,
      until: params.until,
      limit: params.limit,
    },
    signal,
  })
}

/** The checks agents run on one asset: failing first, the most severe first. */
export function getAssetChecks(id: string, signal?: AbortSignal): Promise<CheckList> {
  return getJson(`/assets/${encodeURIComponent(id)}/checks`, { signal })
}

/** The asset's latest quality score with each dimension's evidence. */
export function getAssetScore(id: string, signal?: AbortSignal): Promise<AssetScore> {
  return getJson(`/assets/${encodeURIComponent(id)}/score`, { signal })
}
