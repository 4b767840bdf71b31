-- Ownership, routing rules, escalation and digests (issue 14).
--
-- Who owns what: owners (people), subscribers and channels per asset, tag, source or the tenant
-- (`target` '' for the tenant). An incident's owner is the most specific match: asset > tag >
-- source > tenant.
CREATE TABLE ownerships (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    scope        text NOT NULL CHECK (scope IN ('asset', 'tag', 'source', 'tenant')),
    target       text NOT NULL CHECK ((scope = 'tenant') = (target = '')),
    owners       text[] NOT NULL DEFAULT '{}',
    subscribers  text[] NOT NULL DEFAULT '{}',
    channel_ids  uuid[] NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT '',
    UNIQUE (tenant_id, scope, target)
);
SELECT cwic_tenant_wall('ownerships');

-- Routing rules, evaluated in `position` order: each whose expression holds for an incident sends
-- it to its channels (and to its owner's, with `to_owners`). With no rule, the default holds
-- (critical and high to the owner's channels, or to every channel).
CREATE TABLE routing_rules (
    id                uuid PRIMARY KEY,
    tenant_id         text NOT NULL REFERENCES tenants (id),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    position          integer NOT NULL DEFAULT 0,
    expression        text NOT NULL,
    channel_ids       uuid[] NOT NULL DEFAULT '{}',
    to_owners         boolean NOT NULL DEFAULT false,
    -- After it notified of an asset and rule, the rule stays silent on them this long.
    suppress_minutes  integer NOT NULL DEFAULT 0 CHECK (suppress_minutes BETWEEN 0 AND 10080),
    -- [{"after_minutes": 15, "channel_ids": [...]}, ...]: who hears of it when nobody acknowledged it.
    escalation        jsonb NOT NULL DEFAULT '[]',
    enabled           boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL DEFAULT '',
    UNIQUE (tenant_id, name)
);
SELECT cwic_tenant_wall('routing_rules');

-- The rule a notification went out by (suppression looks for it), and an incident's escalation
-- tiers as routed when it opened (`tier` 1.. of its notifications).
ALTER TABLE notifications ADD COLUMN rule_id uuid;
CREATE INDEX notifications_rule ON notifications (rule_id, created_at) WHERE rule_id IS NOT NULL;
ALTER TABLE incidents ADD COLUMN escalation jsonb NOT NULL DEFAULT '[]';
CREATE INDEX incidents_escalating ON incidents (opened_at) WHERE status = 'open' AND escalation <> '[]';

-- Daily or weekly summaries to a channel (an email channel to a person is a person's digest).
-- `last_period_end` is the end of the last period queued: claiming the next one is one UPDATE, so
-- two replicas queue it once.
CREATE TABLE digests (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (id),
    channel_id       uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    cadence          text NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    -- Local hour it goes out at, and for weekly ones the weekday (1 Monday … 7 Sunday).
    hour             smallint NOT NULL DEFAULT 8 CHECK (hour BETWEEN 0 AND 23),
    weekday          smallint NOT NULL DEFAULT 1 CHECK (weekday BETWEEN 1 AND 7),
    timezone         text NOT NULL DEFAULT 'UTC',
    min_severity     text NOT NULL DEFAULT 'low' CHECK (min_severity IN ('critical', 'high', 'medium', 'low')),
    last_period_end  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL DEFAULT ''
);
SELECT cwic_tenant_wall('digests');
