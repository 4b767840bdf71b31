-- Agent enrollment: one-time enrollment tokens, and what enrollment and heartbeats record per agent.
-- Every table carries tenant_id; tokens and agent credentials are stored as SHA-256 hashes only.

ALTER TABLE agents
    ADD COLUMN enrolled_at        timestamptz,
    ADD COLUMN credential_hash    bytea,         -- SHA-256 of the agent token used on gRPC calls
    ADD COLUMN nats_public_key    text,          -- the user nkey its broker JWT was issued for
    ADD COLUMN status             text NOT NULL DEFAULT '',
    ADD COLUMN last_heartbeat_at  timestamptz,
    ADD COLUMN config_yaml        text NOT NULL DEFAULT '',
    ADD COLUMN config_revision    bigint NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX agents_credential_hash ON agents (credential_hash) WHERE credential_hash IS NOT NULL;

CREATE TABLE agent_enrollment_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    token_hash   bytea NOT NULL UNIQUE,
    agent_id     text,                           -- when set, the only agent id this token enrolls
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,                    -- single use: set once, never cleared
    used_by      text                            -- the agent id it enrolled
);

CREATE INDEX agent_enrollment_tokens_tenant ON agent_enrollment_tokens (tenant_id, created_at);
