-- The job queue for background work (detection passes, and later scoring, alert delivery, digests,
-- reports, retention). Workers in every replica claim due jobs with FOR UPDATE SKIP LOCKED under
-- a lease they renew while the job runs; a job whose lease expired (its replica died) is claimed
-- again. A failed job is retried after an exponential back-off with jitter, and after
-- max_attempts it is dead, its last error kept.
CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    -- The tenant the job works for; NULL for system jobs (the periodic pass that fans out per-asset
    -- jobs). Row-level security hides system jobs from the API role.
    tenant_id     text REFERENCES tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    -- Enqueued at most once per key and kind while the row is kept (a periodic job's slot): every
    -- replica may enqueue it, one row results.
    dedupe_key    text,
    -- At most one queued or running job per key and kind (one detection job per asset at a time).
    pending_key   text,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'succeeded', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    run_after     timestamptz NOT NULL DEFAULT now(),
    -- Set by each claim: the replica holding the job, until when, and a token that fences a
    -- replica whose lease was taken over (its late completion changes nothing).
    lease_owner   text,
    lease_token   uuid,
    lease_until   timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

CREATE UNIQUE INDEX jobs_dedupe ON jobs (kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_pending ON jobs (kind, pending_key)
    WHERE pending_key IS NOT NULL AND state IN ('queued', 'running');
CREATE INDEX jobs_due ON jobs (run_after) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_tenant ON jobs (tenant_id, created_at DESC);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'succeeded';

SELECT cwic_tenant_wall('jobs');

-- One row per asset a detection job judged: who judged it, for which pass, what it found. An
-- audit trail (no uniqueness on purpose: judging an asset twice in one pass would show as two rows).
CREATE TABLE detection_runs (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id    uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    -- The pass slot (unix seconds of its start) the job was enqueued for; NULL for on-demand passes.
    pass_slot   bigint,
    judged_by   text NOT NULL,
    series      integer NOT NULL,
    events      integer NOT NULL,
    judged_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX detection_runs_asset ON detection_runs (tenant_id, asset_id, judged_at DESC);

SELECT cwic_tenant_wall('detection_runs');

-- Each series' detector state after the last pass over it (the table model's under the metric
-- 'table_vector'), so the next pass feeds it only the new points instead of replaying history.
-- Valid only while `through` equals the series' watermark in detection_state (feedback deletes
-- the watermark, and the next pass replays) and `format` is the running build's state version.
CREATE TABLE detector_snapshots (
    tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    asset_id     uuid NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    metric       text NOT NULL,
    column_name  text NOT NULL DEFAULT '',
    through      timestamptz NOT NULL,
    format       smallint NOT NULL,
    state        bytea NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, metric, column_name)
);

SELECT cwic_tenant_wall('detector_snapshots');
