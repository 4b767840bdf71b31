-- Lineage graph: datasets, columns and jobs as nodes; edges valid over a time range so the graph can
-- be read as of any moment (time travel).

CREATE TABLE lineage_nodes (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id),
    kind        text NOT NULL CHECK (kind IN ('dataset', 'column', 'job')),
    namespace   text NOT NULL,             -- a source name, an OpenLineage namespace, a dbt project
    name        text NOT NULL,             -- dataset: schema.table; column: schema.table.column; job: its name
    dataset_id  uuid REFERENCES lineage_nodes (id),   -- for column nodes: their dataset
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, kind, namespace, name)
);

-- An edge says: data flows from source to target, because of job (when known), since valid_from
-- and until valid_to (NULL while current). Re-reporting a job's lineage closes the edges it no longer
-- has and opens the new ones.
CREATE TABLE lineage_edges (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id),
    source_id   uuid NOT NULL REFERENCES lineage_nodes (id),
    target_id   uuid NOT NULL REFERENCES lineage_nodes (id),
    job_id      uuid NOT NULL REFERENCES lineage_nodes (id),
    kind        text NOT NULL CHECK (kind IN ('table', 'direct', 'expression', 'aggregate')),
    origin      text NOT NULL CHECK (origin IN ('sql', 'dbt', 'openlineage')),
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

CREATE INDEX lineage_edges_source ON lineage_edges (tenant_id, source_id, valid_from);
CREATE INDEX lineage_edges_target ON lineage_edges (tenant_id, target_id, valid_from);
CREATE UNIQUE INDEX lineage_edges_open ON lineage_edges (job_id, source_id, target_id, kind) WHERE valid_to IS NULL;
