-- Metric history partitioned by month (UTC), so old history is dropped a partition at a time and
-- each month's index stays small. Partitions are created on demand: the control plane calls
-- cwic_metric_partition() for a month before it stores the first point of that month.

CREATE FUNCTION cwic_metric_partition(month_start date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', month_start)::date;
    partition text := format('metric_points_%s', to_char(first_day, 'YYYYMM'));
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF metric_points FOR VALUES FROM (%L) TO (%L)',
        partition,
        first_day::timestamp AT TIME ZONE 'UTC',
        (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC'
    );
END
$$;

ALTER TABLE metric_points RENAME TO metric_points_unpartitioned;
ALTER TABLE metric_points_unpartitioned RENAME CONSTRAINT metric_points_pkey TO metric_points_unpartitioned_pkey;

-- No foreign keys: the ingest transaction writes a batch's asset rows before its points, and a
-- per-row foreign-key check (an index probe and a row lock on the asset, twice per point) costs more
-- than the rest of storing a point. Deleting an asset deletes its history explicitly.
CREATE TABLE metric_points (
    tenant_id    text NOT NULL,
    asset_id     uuid NOT NULL,
    metric       text NOT NULL,
    column_name  text NOT NULL DEFAULT '',
    observed_at  timestamptz NOT NULL,
    batch_id     uuid NOT NULL,
    value        double precision NOT NULL,
    PRIMARY KEY (asset_id, metric, column_name, observed_at, batch_id)
) PARTITION BY RANGE (observed_at);

SELECT cwic_metric_partition(month)
FROM (SELECT DISTINCT date_trunc('month', observed_at AT TIME ZONE 'UTC')::date AS month
      FROM metric_points_unpartitioned) AS months;
INSERT INTO metric_points SELECT * FROM metric_points_unpartitioned;
DROP TABLE metric_points_unpartitioned;
