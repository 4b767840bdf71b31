-- Row-level security for the role the API uses: a second wall behind its own `WHERE tenant_id`.
--
-- The control plane connects as the database owner. Its API pool switches every connection to the
-- role `cwic_api` (SET ROLE) and names the caller's tenant per transaction in the setting
-- `cwic.tenant`; for that role the policies below show and accept only that tenant's rows, and an
-- unset tenant matches none. Ingest and background work stay on the owner, which row-level security
-- does not restrict (so ingest can use COPY).
--
-- Creating the role needs CREATEROLE once per cluster; where the control plane's login role lacks
-- it, a DBA runs `CREATE ROLE cwic_api NOLOGIN; GRANT cwic_api TO <login role>;` first.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cwic_api') THEN
        BEGIN
            CREATE ROLE cwic_api NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database of the cluster created it at the same moment
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'cwic_api', 'MEMBER') THEN
        EXECUTE format('GRANT cwic_api TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO cwic_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cwic_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cwic_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cwic_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO cwic_api;
-- The audit log stays append-only for the API as well (the trigger refuses the rest for everyone).
REVOKE UPDATE, DELETE ON audit_log FROM cwic_api;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['assets', 'asset_columns', 'metric_points', 'lineage_nodes', 'lineage_edges']
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
