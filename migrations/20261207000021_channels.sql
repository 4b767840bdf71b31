-- Notification channels (issue 14): where a tenant's alerts go. `settings` holds what may be shown
-- (a webhook's URL); `secret` (a webhook's signing key) is written by the API and never returned.
CREATE TABLE channels (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id),
    kind        text NOT NULL CHECK (kind IN ('webhook', 'slack', 'teams', 'email', 'pagerduty', 'opsgenie')),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    settings    jsonb NOT NULL DEFAULT '{}',
    secret      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT '',
    UNIQUE (tenant_id, name)
);
SELECT cwic_tenant_wall('channels');
