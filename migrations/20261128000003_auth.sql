-- Identity and access: users, memberships with roles, refresh and API tokens, SSO connections and
-- the audit log.
--
-- A user is a person (one e-mail address) and may belong to several tenants; everything a user can
-- do inside a tenant comes from a membership row, which carries the tenant_id like every other table.

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE CHECK (email = lower(email)),
    display_name   text NOT NULL DEFAULT '',
    -- argon2id PHC string; NULL for users who only sign in through SSO.
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    tenant_id   text NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- Refresh tokens rotate on every use. All tokens issued from one login share a family; presenting a
-- token that was already rotated (a stolen copy) revokes the whole family.
CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants (id),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id    uuid NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Tokens for automation: shown once, stored as a SHA-256 hash, scoped to one role in one tenant.
CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id),
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    token_hash    bytea NOT NULL UNIQUE,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, created_at);

-- OpenID Connect: users signing in through a connection are provisioned into its tenant.
CREATE TABLE sso_connections (
    id             uuid PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    name           text NOT NULL,
    issuer_url     text NOT NULL,
    client_id      text NOT NULL,
    client_secret  text NOT NULL,
    default_role   text NOT NULL DEFAULT 'viewer' CHECK (default_role IN ('admin', 'editor', 'viewer')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

-- Login attempts in flight (state, PKCE verifier, nonce), consumed once by the callback.
CREATE TABLE sso_logins (
    state          text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants (id),
    connection_id  uuid NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    pkce_verifier  text NOT NULL,
    nonce          text NOT NULL,
    -- The callback URL sent to the provider; the code exchange must repeat it.
    callback_url   text NOT NULL,
    redirect_to    text NOT NULL DEFAULT '/',
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Append-only: every mutating request and every login attempt. tenant_id is NULL only for a failed
-- login that named no known tenant.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  text REFERENCES tenants (id),
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    outcome    text NOT NULL,
    source_ip  text NOT NULL DEFAULT '',
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
