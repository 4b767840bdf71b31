-- SLAs with error budgets, ROI cost settings, and the first incidents table (issue 13; issue 14
-- extends incidents with rules, timelines and routing).

-- An SLA on one asset or on every asset with a tag. Each objective is optional (NULL: not part of
-- this SLA); compliance is evaluated per minute over a rolling window and spent against the
-- error budget (1 - target) of that window.
CREATE TABLE slas (
    id                      uuid PRIMARY KEY,
    tenant_id               text NOT NULL REFERENCES tenants (id),
    name                    text NOT NULL,
    asset_id                uuid REFERENCES assets (id) ON DELETE CASCADE,
    tag                     text,
    -- Share of minutes each objective must be met in, e.g. 0.99 (a 7.2 h budget over 30 days).
    target                  double precision NOT NULL DEFAULT 0.99 CHECK (target > 0 AND target < 1),
    window_minutes          integer NOT NULL DEFAULT 43200 CHECK (window_minutes > 0),
    min_score               double precision CHECK (min_score BETWEEN 0 AND 100),
    max_open_critical       integer CHECK (max_open_critical >= 0),
    freshness_bound_minutes integer CHECK (freshness_bound_minutes > 0),
    -- Share of collections that must succeed (over the window).
    min_availability        double precision CHECK (min_availability BETWEEN 0 AND 1),
    ack_within_minutes      integer CHECK (ack_within_minutes > 0),
    resolve_within_minutes  integer CHECK (resolve_within_minutes > 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    created_by              text NOT NULL DEFAULT '',
    CHECK ((asset_id IS NULL) <> (tag IS NULL))
);
CREATE INDEX slas_tenant_asset ON slas (tenant_id, asset_id);
SELECT cwic_tenant_wall('slas');

-- One evaluation of one objective of an SLA: what the budget looked like at evaluated_at. Kept as
-- history; the latest row per (sla, objective) is the current state.
CREATE TABLE sla_evaluations (
    tenant_id          text NOT NULL REFERENCES tenants (id),
    sla_id             uuid NOT NULL REFERENCES slas (id) ON DELETE CASCADE,
    objective          text NOT NULL
                       CHECK (objective IN ('score', 'open_critical', 'freshness', 'availability',
                                            'acknowledge', 'resolve')),
    evaluated_at       timestamptz NOT NULL,
    window_minutes     integer NOT NULL,
    evaluated_minutes  integer NOT NULL,
    met_minutes        integer NOT NULL,
    budget_minutes     double precision NOT NULL,
    spent_minutes      double precision NOT NULL,
    burn_rate          double precision,
    exhausts_at        timestamptz,
    breached           boolean NOT NULL,
    PRIMARY KEY (tenant_id, sla_id, objective, evaluated_at)
);
SELECT cwic_tenant_wall('sla_evaluations');

-- Per-tenant ROI assumptions (absent: nothing is priced; hours are still reported).
CREATE TABLE roi_settings (
    tenant_id                 text PRIMARY KEY REFERENCES tenants (id),
    engineer_hourly_rate      double precision NOT NULL CHECK (engineer_hourly_rate >= 0),
    -- {"tier-1": 5000, "default": 500}: cost of an hour of downtime of an asset of that tier.
    downtime_hourly_cost      jsonb NOT NULL,
    platform_cost_per_month   double precision NOT NULL CHECK (platform_cost_per_month >= 0),
    currency                  text NOT NULL DEFAULT 'USD',
    -- How long a problem went unnoticed before CWIC (the counterfactual the savings are measured
    -- against), in hours; a tenant assumption like the rates.
    baseline_detection_hours  double precision NOT NULL DEFAULT 24 CHECK (baseline_detection_hours >= 0),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    updated_by                text NOT NULL DEFAULT ''
);
SELECT cwic_tenant_wall('roi_settings');

-- Incidents (first cut; issue 14 adds rules, timelines, routing). began_at is when the problem
-- began in the series (first anomalous point or first failing run), opened_at when it was
-- detected: time to detect = opened_at - began_at, time to resolve = resolved_at - opened_at.
CREATE TABLE incidents (
    id                        uuid PRIMARY KEY,
    tenant_id                 text NOT NULL REFERENCES tenants (id),
    asset_id                  uuid REFERENCES assets (id) ON DELETE SET NULL,
    source_kind               text NOT NULL,
    source_id                 uuid,
    severity                  text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    status                    text NOT NULL DEFAULT 'open'
                              CHECK (status IN ('open', 'acknowledged', 'resolved', 'snoozed', 'closed')),
    title                     text NOT NULL,
    began_at                  timestamptz NOT NULL,
    opened_at                 timestamptz NOT NULL,
    acknowledged_at           timestamptz,
    resolved_at               timestamptz,
    -- Caught before any downstream consumer (through lineage) read the bad data; NULL: unknown.
    caught_before_downstream  boolean,
    fix_applied               boolean NOT NULL DEFAULT false,
    CHECK (began_at <= opened_at),
    CHECK (resolved_at IS NULL OR resolved_at >= opened_at)
);
CREATE INDEX incidents_tenant_opened ON incidents (tenant_id, opened_at DESC);
CREATE INDEX incidents_tenant_asset ON incidents (tenant_id, asset_id, status);
SELECT cwic_tenant_wall('incidents');
