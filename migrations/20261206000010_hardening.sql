-- Hardening after the first attack on the control plane (issue 11).

-- Row-level security on every table that carries a tenant_id (the rest of them; see
-- 20261128000007 and 20261128000008 for the first nine). The API role sees and writes only the
-- tenant its transaction names; the owner (sign-in lookups, ingest, background work) is not
-- restricted. A test lists every table with a tenant_id and fails when one lacks the policy.
--
-- The wall itself, one function for every table from here on: enables row-level security on the
-- table and adds the policy, each only once (no lock is taken on a table that has both, so calling
-- it again for an existing metric partition does not block ingest).
CREATE FUNCTION cwic_tenant_wall(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = format('public.%I', t)::regclass) THEN
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_policies WHERE schemaname = 'public' AND tablename = t
                   AND policyname = 'tenant_wall') THEN
        EXECUTE format(
            'CREATE POLICY tenant_wall ON %I TO cwic_api
                 USING (tenant_id = current_setting(''cwic.tenant'', true))
                 WITH CHECK (tenant_id = current_setting(''cwic.tenant'', true))',
            t
        );
    END IF;
END
$$;

SELECT cwic_tenant_wall(t)
FROM unnest(ARRAY['agents', 'agent_enrollment_tokens', 'api_tokens', 'audit_log', 'detection_state',
                  'ingested_batches', 'memberships', 'refresh_tokens', 'sso_connections',
                  'sso_logins']) AS t;

-- Monthly partitions of metric_points carry tenant_id too: a query naming a partition directly
-- must meet the same wall as one through the parent.
CREATE OR REPLACE FUNCTION cwic_metric_partition(month_start date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', month_start)::date;
    partition text := format('metric_points_%s', to_char(first_day, 'YYYYMM'));
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF metric_points FOR VALUES FROM (%L) TO (%L)',
        partition,
        first_day::timestamp AT TIME ZONE 'UTC',
        (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC'
    );
    PERFORM cwic_tenant_wall(partition);
END
$$;
SELECT cwic_metric_partition(to_date(substring(c.relname FROM 15), 'YYYYMM'))
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
WHERE p.relname = 'metric_points';

-- Messages that could not be stored (malformed, refused, or delivered too often without being
-- settled): kept with the reason instead of being redelivered forever or dropped unseen.
CREATE TABLE dead_letters (
    id            uuid PRIMARY KEY,
    -- From the subject the broker vouched for ('' when the subject names none).
    tenant_id     text NOT NULL,
    consumer      text NOT NULL,
    subject       text NOT NULL,
    stream_sequence bigint,
    deliveries    integer NOT NULL,
    reason        text NOT NULL,
    payload       bytea NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, stream_sequence)
);
CREATE INDEX dead_letters_tenant ON dead_letters (tenant_id, received_at DESC);
SELECT cwic_tenant_wall('dead_letters');

-- One row: this installation's id. Replicas on one database share it; another deployment on the
-- same broker has another, so their durable consumers never share messages.
CREATE TABLE installation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    id         text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO installation (id) VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 12));

-- Single sign-on identities: a user signs in through a connection as the provider's subject. A
-- connection provisions and links only its own identities; an e-mail address alone never lets one
-- tenant's identity provider take over a user another tenant knows.
CREATE TABLE sso_identities (
    connection_id  uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    subject        text NOT NULL,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, subject)
);
SELECT cwic_tenant_wall('sso_identities');

-- An API token acts for the member who made it: it dies with that membership and never holds more
-- than that member's current role. NULL for tokens made on the command line by the operator.
ALTER TABLE api_tokens ADD COLUMN creator_user_id uuid REFERENCES users (id) ON DELETE CASCADE;
UPDATE api_tokens t SET creator_user_id = u.id
FROM users u
WHERE t.created_by = 'user:' || u.email;
