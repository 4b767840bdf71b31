-- Core metadata and metric history (foundation).
-- Every table carries tenant_id; the API scopes every query by it.

CREATE TABLE tenants (
    id          text PRIMARY KEY,               -- a TenantId slug, also the NATS subject token
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    tenant_id      text NOT NULL REFERENCES tenants (id),
    id             text NOT NULL,
    version        text NOT NULL DEFAULT '',
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- A table, view or file that an agent observed. Identity: (tenant, source, schema, name).
CREATE TABLE assets (
    id             uuid PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    source_name    text NOT NULL,
    source_kind    text NOT NULL,
    schema_name    text NOT NULL,
    name           text NOT NULL,
    kind           text NOT NULL,
    agent_id       text NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    last_error     text,
    UNIQUE (tenant_id, source_name, schema_name, name)
);

CREATE TABLE asset_columns (
    tenant_id      text NOT NULL REFERENCES tenants (id),
    asset_id       uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    name           text NOT NULL,
    ordinal        integer NOT NULL,
    data_type      text NOT NULL,
    nullable       boolean NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    PRIMARY KEY (asset_id, name)
);

-- One row per stored batch: the idempotency record. A batch id seen before is skipped whole.
CREATE TABLE ingested_batches (
    tenant_id        text NOT NULL REFERENCES tenants (id),
    batch_id         uuid NOT NULL,
    agent_id         text NOT NULL,
    source_name      text NOT NULL,
    collected_at     timestamptz NOT NULL,
    ingested_at      timestamptz NOT NULL DEFAULT now(),
    stream_sequence  bigint,
    points           integer NOT NULL,
    PRIMARY KEY (tenant_id, batch_id)
);

-- Metric history. column_name is '' for table-level metrics.
CREATE TABLE metric_points (
    tenant_id    text NOT NULL REFERENCES tenants (id),
    asset_id     uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    metric       text NOT NULL,
    column_name  text NOT NULL DEFAULT '',
    observed_at  timestamptz NOT NULL,
    batch_id     uuid NOT NULL,
    value        double precision NOT NULL,
    PRIMARY KEY (asset_id, metric, column_name, observed_at, batch_id)
);

CREATE INDEX assets_tenant_name ON assets (tenant_id, source_name, schema_name, name);
