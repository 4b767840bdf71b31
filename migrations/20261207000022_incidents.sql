-- Alerts grouped into incidents, their timelines, and the notifications they send (issue 14).
--
-- The incident engine (control-plane/src/incidents) turns events into alerts: one row per signal
-- an event carries (a check failed, an anomaly opened, a score dropped ...; and the recoveries:
-- the check passed, the anomaly closed). Firing alerts on the same asset and rule join the one
-- open incident of that asset and rule; a recovery resolves it.

-- What the first incidents table (SLA migration) lacked: the rule an incident groups alerts by
-- (`check:<name>`, `anomaly:<metric>:<column>`, `score_drop`, `schema`, `sla:<id>` ...; '' for
-- incidents written before this migration), how many alerts joined it and the last one's time, a
-- snooze, why it was closed, the note of its resolution, and its parent (assets sharing a root).
ALTER TABLE incidents
    ADD COLUMN rule_key        text NOT NULL DEFAULT '',
    ADD COLUMN alert_count     integer NOT NULL DEFAULT 0 CHECK (alert_count >= 0),
    ADD COLUMN last_alert_at   timestamptz,
    -- When the signal recovered (the check's passing run, the anomaly's closing), by the signal's
    -- own clock: a firing alert older than this is late and opens nothing.
    ADD COLUMN recovered_at    timestamptz,
    ADD COLUMN snoozed_until   timestamptz,
    ADD COLUMN close_reason    text CHECK (close_reason IN ('expected', 'no_action_needed')),
    ADD COLUMN resolution      text,
    ADD COLUMN details         jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN parent_id       uuid REFERENCES incidents (id) ON DELETE SET NULL,
    ADD COLUMN updated_at      timestamptz NOT NULL DEFAULT now();

-- At most one open (or acknowledged, or snoozed) incident per asset and rule: concurrent engines
-- in two replicas cannot open two. Tenant-level incidents (an SLA on a tag) have no asset.
CREATE UNIQUE INDEX incidents_one_open ON incidents (tenant_id, asset_id, rule_key) NULLS NOT DISTINCT
    WHERE status IN ('open', 'acknowledged', 'snoozed') AND rule_key <> '';
CREATE INDEX incidents_tenant_status ON incidents (tenant_id, status, opened_at DESC);
CREATE INDEX incidents_rule_recovered ON incidents (tenant_id, asset_id, rule_key, recovered_at)
    WHERE recovered_at IS NOT NULL;

-- One signal an event carried. Unique per event and rule, so an event delivered twice (a
-- redelivery, a second replica) is applied once.
CREATE TABLE alerts (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    event_id     uuid NOT NULL,
    rule_key     text NOT NULL,
    -- check_failed, check_error, anomaly, score_drop, schema_change, sla_breach, sla_budget, agent
    kind         text NOT NULL,
    -- false: a recovery (the check passed, the anomaly closed, the score came back).
    firing       boolean NOT NULL,
    severity     text CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    asset_id     uuid REFERENCES assets (id) ON DELETE SET NULL,
    incident_id  uuid REFERENCES incidents (id) ON DELETE SET NULL,
    title        text NOT NULL,
    -- When the signal was observed (the check's run, the anomalous point), and when its event
    -- was written (the start of "event to notification" latency).
    observed_at  timestamptz NOT NULL,
    event_at     timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    details      jsonb NOT NULL DEFAULT '{}',
    UNIQUE (tenant_id, event_id, rule_key)
);
CREATE INDEX alerts_incident ON alerts (incident_id, observed_at);
CREATE INDEX alerts_tenant_observed ON alerts (tenant_id, observed_at);
SELECT cwic_tenant_wall('alerts');

-- What happened to an incident besides its alerts (those are in `alerts`): opened, acknowledged,
-- snoozed, resolved (by whom, or by the signal's recovery), closed, comments, notifications sent
-- or dead.
CREATE TABLE incident_timeline (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    incident_id  uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL CHECK (kind ~ '^[a-z_]+$'),
    actor        text NOT NULL DEFAULT 'cwic',
    message      text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at);
SELECT cwic_tenant_wall('incident_timeline');

-- One message about an incident to one channel: exactly one `opened` and one `resolved` per
-- incident and channel (the unique key), delivered by a `deliver_notification` job; `dead` after
-- its job's last attempt failed, until re-sent.
CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    incident_id  uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    channel_id   uuid NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    event        text NOT NULL CHECK (event IN ('opened', 'resolved', 'escalated')),
    -- The escalation tier (0 for opened and resolved).
    tier         smallint NOT NULL DEFAULT 0,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    last_status  integer,
    last_error   text,
    -- Why it went to this channel, for a person ("why did this go to #data-eng").
    routed_by    text NOT NULL,
    -- When the change it tells of was written (its event), queued, and sent.
    event_at     timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    UNIQUE (incident_id, channel_id, event, tier)
);
CREATE INDEX notifications_tenant_state ON notifications (tenant_id, state, created_at DESC);
SELECT cwic_tenant_wall('notifications');
