-- Check results that agents run with their collections (one row per check and run), the input of
-- scoring and of root-cause analysis ("which checks fail on this table"). Failing samples never
-- leave the agent, so none are stored here.
CREATE TABLE check_results (
    tenant_id     text NOT NULL REFERENCES tenants (id),
    asset_id      uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    check_name    text NOT NULL,
    observed_at   timestamptz NOT NULL,
    batch_id      uuid NOT NULL,
    template      text NOT NULL,
    dimension     text NOT NULL CHECK (dimension IN ('completeness', 'validity', 'accuracy', 'consistency',
                                                     'uniqueness', 'timeliness', 'integrity')),
    severity      text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    status        text NOT NULL CHECK (status IN ('pass', 'fail', 'error')),
    columns       text[] NOT NULL DEFAULT '{}',
    failing_rows  bigint CHECK (failing_rows >= 0),
    total_rows    bigint CHECK (total_rows >= 0),
    value         text NOT NULL DEFAULT '',
    message       text NOT NULL DEFAULT '',
    owner         text NOT NULL DEFAULT '',
    tags          text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, asset_id, check_name, observed_at)
);

CREATE INDEX check_results_failing ON check_results (tenant_id, observed_at DESC) WHERE status <> 'pass';

-- The tables the API reads join the tenant wall of migration 7.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['check_results', 'segment_counts', 'anomaly_events', 'metric_bounds']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_wall ON %I TO cwic_api
                 USING (tenant_id = current_setting(''cwic.tenant'', true))
                 WITH CHECK (tenant_id = current_setting(''cwic.tenant'', true))',
            t
        );
    END LOOP;
END
$$;
