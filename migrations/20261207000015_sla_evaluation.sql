-- SLAs evaluated continuously (issue 13): every collection of every asset is kept (the
-- availability objective: the share of collections that succeeded; failed collections are an
-- alert source of issue 14), and each evaluation records whether the objective is met in its
-- latest minute, so that the evaluator emits `sla.breached` once when it stops being met.

-- One row per asset per collection, written by ingest in the batch's transaction.
CREATE TABLE asset_collections (
    tenant_id     text NOT NULL REFERENCES tenants (id),
    asset_id      uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    collected_at  timestamptz NOT NULL,
    batch_id      uuid NOT NULL,
    succeeded     boolean NOT NULL,
    -- The agent's error for a failed collection.
    error         text,
    PRIMARY KEY (tenant_id, asset_id, collected_at, batch_id)
);
SELECT cwic_tenant_wall('asset_collections');

-- NULL: the objective had no evidence in its latest minute.
ALTER TABLE sla_evaluations ADD COLUMN met_now boolean;
-- The objective's budget left at evaluated_at, in minutes (negative: overspent).
ALTER TABLE sla_evaluations ADD COLUMN remaining_minutes double precision;
