-- Quality scores (issue 13). A score is computed for an asset (a table; its columns inside its
-- dimensions' evidence) when its evidence changes, and kept as history: one row per computation.
-- Groups (source, tag, tenant) are aggregated from the latest asset scores when asked.
--
-- Readers outside the scoring module (SLAs: the target-score objective; ROI; alert rules) rely on
-- asset_scores' columns tenant_id, asset_id, computed_at, score, coverage as they are here.
CREATE TABLE asset_scores (
    tenant_id    text NOT NULL REFERENCES tenants (id),
    asset_id     uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    computed_at  timestamptz NOT NULL,
    -- 0-100, or NULL when no dimension has evidence ("not measured").
    score        double precision CHECK (score BETWEEN 0 AND 100),
    -- The weight share of the measured dimensions, 0-1.
    coverage     double precision NOT NULL CHECK (coverage BETWEEN 0 AND 1),
    -- Each dimension's score (0-100 or null) and its evidence, as the API returns it.
    dimensions   jsonb NOT NULL,
    -- The weights the score was computed with.
    weights      jsonb NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, computed_at)
);
CREATE INDEX asset_scores_latest ON asset_scores (tenant_id, asset_id, computed_at DESC);
SELECT cwic_tenant_wall('asset_scores');

-- Per-tenant dimension weights (absent: the defaults of DESIGN.md). Seven keys, each in [0, 1],
-- summing to 1; validated by the API before it is written.
CREATE TABLE score_weights (
    tenant_id   text PRIMARY KEY REFERENCES tenants (id),
    weights     jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT ''
);
SELECT cwic_tenant_wall('score_weights');

-- Per-check dimension overrides: a check counts in this dimension instead of its template's.
CREATE TABLE score_check_dimensions (
    tenant_id   text NOT NULL REFERENCES tenants (id),
    asset_id    uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    check_name  text NOT NULL,
    dimension   text NOT NULL CHECK (dimension IN ('completeness', 'validity', 'accuracy', 'consistency',
                                                   'uniqueness', 'timeliness', 'integrity')),
    PRIMARY KEY (tenant_id, asset_id, check_name)
);
SELECT cwic_tenant_wall('score_check_dimensions');
