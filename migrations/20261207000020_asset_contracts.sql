-- Data contracts attached to assets in the control plane (issue 13): one per asset, the document as
-- written (ODCS v3 or datacontract.com YAML, validated by the API with the agent's reader), the
-- contract dataset that describes the asset, and who attached it. The asset's agent fetches the
-- contracts of its assets with GetConfig and runs them on every collection; their results are the
-- asset's check results tagged `contract:<contract_id>`.
CREATE TABLE asset_contracts (
    tenant_id    text NOT NULL REFERENCES tenants (id),
    asset_id     uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    contract_id  text NOT NULL CHECK (contract_id <> ''),
    version      text NOT NULL DEFAULT '',
    dataset      text NOT NULL,
    document     text NOT NULL,
    attached_at  timestamptz NOT NULL DEFAULT now(),
    attached_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, asset_id)
);
SELECT cwic_tenant_wall('asset_contracts');

-- The SLA made from an attached contract's service levels (freshness, availability) names the
-- contract; it is replaced when the contract is attached again and removed when it is detached.
ALTER TABLE slas ADD COLUMN contract_id text;
