-- Per-asset dimension weights (issue 13): an asset whose weights are set here is scored with them
-- instead of its tenant's. Seven keys, each in [0, 1], summing to 1; validated by the API.
CREATE TABLE asset_score_weights (
    tenant_id   text NOT NULL REFERENCES tenants (id),
    asset_id    uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    weights     jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, asset_id)
);
SELECT cwic_tenant_wall('asset_score_weights');
