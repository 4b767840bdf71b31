-- Intelligence: persisted anomaly events with user feedback, bounds that forecasts are checked
-- against (early warnings), and per-segment counts that root-cause analysis explains null bursts
-- with. Every table carries tenant_id; the API scopes every query by it.

-- One row per detected anomaly event (the point that opened it). Rows with feedback are kept as
-- they are; the rest are recomputed by each detection pass over the series' stored history.
CREATE TABLE anomaly_events (
    id             uuid PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    asset_id       uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    metric         text NOT NULL,
    column_name    text NOT NULL DEFAULT '',
    observed_at    timestamptz NOT NULL,
    value          double precision NOT NULL,
    expected_low   double precision,
    expected_high  double precision,
    score          double precision NOT NULL,
    detected_at    timestamptz NOT NULL DEFAULT now(),
    -- 'expected': a planned one-off (backfill, migration): the detector skips the point.
    -- 'false_positive': normal for this series: the detector learns it and widens its band.
    feedback       text CHECK (feedback IN ('expected', 'false_positive')),
    feedback_at    timestamptz,
    UNIQUE (tenant_id, asset_id, metric, column_name, observed_at)
);

CREATE INDEX anomaly_events_tenant_time ON anomaly_events (tenant_id, observed_at DESC);

-- How far each series has been judged: a detection pass only revisits series with newer points.
CREATE TABLE detection_state (
    tenant_id        text NOT NULL REFERENCES tenants (id),
    asset_id         uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    metric           text NOT NULL,
    column_name      text NOT NULL DEFAULT '',
    scanned_through  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, metric, column_name)
);

-- Bounds a metric series should stay within (e.g. freshness lateness below 120 minutes); forecasts
-- predicted to cross one become early warnings.
CREATE TABLE metric_bounds (
    tenant_id    text NOT NULL REFERENCES tenants (id),
    asset_id     uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    metric       text NOT NULL,
    column_name  text NOT NULL DEFAULT '',
    lower_bound  double precision,
    upper_bound  double precision,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, asset_id, metric, column_name),
    CHECK (lower_bound IS NOT NULL OR upper_bound IS NOT NULL),
    CHECK (lower_bound IS NULL OR upper_bound IS NULL OR lower_bound < upper_bound)
);

-- Grouped counts of one column by the values of a low-cardinality segment column, as an agent's
-- grouped pushdown query (`SELECT seg, count(*), count(*) - count(col) ... GROUP BY seg`) yields.
CREATE TABLE segment_counts (
    tenant_id       text NOT NULL REFERENCES tenants (id),
    asset_id        uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    column_name     text NOT NULL,
    segment_column  text NOT NULL,
    segment_value   text NOT NULL,
    observed_at     timestamptz NOT NULL,
    row_count       double precision NOT NULL,
    null_count      double precision NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, column_name, segment_column, segment_value, observed_at)
);
