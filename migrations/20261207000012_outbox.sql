-- Domain events waiting to be published (the transactional outbox). A store function that changes
-- something writes the event here in the same transaction as the change; the relay
-- (control-plane/src/events/relay.rs) publishes unpublished rows to JetStream on
-- cwic.<tenant>.events.<kind>, claiming them with FOR UPDATE SKIP LOCKED so replicas split the work,
-- marks them published, and prunes published rows after a while.
CREATE TABLE outbox (
    -- The event id (UUID v7: ordered by creation time), also the Nats-Msg-Id of its publication.
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- e.g. 'metrics.stored', 'anomaly.opened': the subject's last tokens.
    kind          text NOT NULL CHECK (kind ~ '^[a-z_]+(\.[a-z_]+)*$'),
    occurred_at   timestamptz NOT NULL,
    -- The event's payload (the envelope's `data`).
    data          jsonb NOT NULL,
    published_at  timestamptz
);
-- What the relay claims: only unpublished rows, oldest first.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
-- What pruning deletes.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
SELECT cwic_tenant_wall('outbox');
