// Generated from console/openapi.json (`cwic openapi`) by openapi-typescript: do not edit.
// Refresh with scripts/build-console.

export interface paths {
    "/api/v1/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tenant's agents: online (heartbeat or batch within 90 s), stale (15 min) or offline, and
         *     their versions.
         */
        get: operations["list_agents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/commands": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sends a command to a connected agent and returns its answer (request/reply on the agent's
         *     command subject). Every command is in the audit log.
         */
        post: operations["send_command"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/config": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Stores the agent's config document (YAML text) that `GetConfig` returns. */
        put: operations["put_agent_config"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/enrollment-tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Creates a one-time enrollment token; the token is in this response only. */
        post: operations["create_enrollment_token"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/alert-rules/backtest": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replays the stored alerts of the last `days` (default 7) through a proposed rule set
         *     (severity and score-drop thresholds, grouping window, suppression, routes) and says how many
         *     incidents and notifications per channel it would have made, and which past incidents it would
         *     have missed. Changes nothing.
         */
        post: operations["backtest_rules"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/anomalies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["list_anomalies"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/anomalies/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["get_anomaly"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/anomalies/{id}/causes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["anomaly_causes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/anomalies/{id}/feedback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: operations["post_feedback"];
        delete: operations["delete_feedback"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/anomalies/scan": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Runs a detection pass over the tenant's series with new points now (the background task does
         *     the same for every tenant periodically).
         */
        post: operations["scan_now"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Tables, views and files the tenant's agents observed, with their latest row count. */
        get: operations["list_assets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One asset with its columns and their latest NULL counts. */
        get: operations["get_asset"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/anomalies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A metric series as the anomaly detector for its metric sees it (the seasonal detector; the
         *     update rhythm for `freshness_lag`, whose band is `[0, expected interval + tolerance]`; the
         *     one-sided rule for `distribution_drift`), or with `metric=table_vector` the table model's
         *     verdict on each collection (value = isolation score, with the features that contributed
         *     most): every point with the expected band it was judged against, and the points that open an
         *     anomaly event. Causal: each verdict uses only the points before it, so the band is what the
         *     detector expected at that time.
         */
        get: operations["asset_anomalies"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/bounds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put: operations["put_bounds"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/checks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The checks agents run on the asset: each check's latest outcome (failing first, by severity)
         *     with the statuses of its recent runs. Failing samples stay on the agents and are not here.
         */
        get: operations["asset_checks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/checks/{check}/dimension": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Makes a check of an asset count in another dimension than its template's (editor), or with
         *     `null` in its template's again. The asset is rescored.
         */
        put: operations["put_check_dimension"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/contract": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The contract attached to the asset: its columns, rules (as the checks they run as), service
         *     levels and warnings, and `status`: whether the asset met it at its latest collection, with the
         *     latest result of each of its checks. 404 when none is attached.
         */
        get: operations["get_contract"];
        /**
         * Attaches a data contract (ODCS v3 or datacontract.com YAML in `document`) to the asset,
         *     replacing the one it had; the asset's agent runs it on every collection from its next one on.
         *     A document that cannot be run is a 400 whose message is its first error
         *     (`document:line:column: key: what was expected`) and whose `details.errors` lists them all.
         */
        put: operations["put_contract"];
        post?: never;
        /** Detaches the asset's contract; its agent stops running it at its next collection. */
        delete: operations["delete_contract"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/forecast": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["asset_forecast"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The asset's metric history, oldest first. */
        get: operations["asset_metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/score": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The asset's latest quality score: overall (null when nothing is measured) with its coverage,
         *     the weights, each of the seven dimensions with the checks and metrics behind it, and the
         *     trends over 24 hours and 7 days. A dimension without evidence is null ("not measured").
         */
        get: operations["asset_score"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/score-weights": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Sets an asset's own dimension weights (admin), used instead of the tenant's: all seven, each in
         *     [0, 1], summing to 1; otherwise 400 naming the field. The asset is rescored with them.
         */
        put: operations["put_asset_score_weights"];
        post?: never;
        /** Removes an asset's own weights (admin): it is scored with the tenant's again. */
        delete: operations["delete_asset_score_weights"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/score/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every computation of the asset's score since `since` (default 7 days), oldest first. */
        get: operations["score_history"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/assets/{id}/tier": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Sets an asset's tier (admin): the cost of an hour of its downtime in ROI reports is the ROI
         *     settings' cost of that tier (their `default` for a tier they do not name); `{"tier": null}`
         *     clears it. 400 naming `tier` for a bad name, 404 for an unknown asset.
         */
        put: operations["put_asset_tier"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's audit log, newest first. */
        get: operations["audit_log"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Signs in with e-mail and password; returns an access token and a refresh token. */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Ends the session: its refresh tokens stop working (access tokens expire within 15 minutes). */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Who the bearer token belongs to. */
        get: operations["me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Trades a refresh token for a new access token and a new refresh token (the old one stops
         *     working; presenting it again revokes the whole session).
         */
        post: operations["refresh"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/sso/{tenant}/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Starts single sign-on: redirects the browser to the tenant's identity provider (authorization
         *     code flow with PKCE).
         */
        get: operations["sso_start"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/sso/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The identity provider's redirect back: verifies the sign-in, provisions the user into the
         *     connection's tenant on first login (with the connection's default role), starts a session and
         *     returns the browser to the console.
         */
        get: operations["sso_callback"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/channels": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's channels, by name; no secret is ever shown (`secret_set` says one is stored). */
        get: operations["list_channels"];
        put?: never;
        /**
         * Creates a channel: `{"kind": "webhook", "name": "...", "url": "https://...", "secret": "..."}`.
         *     A webhook POSTs JSON signed with `X-Cwic-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
         *     "<t>.<body>">`. 400 naming the field that is wrong, 409 when the name is taken.
         */
        post: operations["create_channel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/channels/{id}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sends a test message through the channel now and says what the receiver answered
         *     (`delivered: false` with the reason when it did not take it).
         */
        post: operations["test_channel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Agent messages of the tenant that could not be stored (malformed, refused by the database,
         *     SQL past the analyzer's limits, or delivered too often without being settled), newest first,
         *     each with its reason. They are kept, not redelivered.
         */
        get: operations["list_dead_letters"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/digests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's daily and weekly digests. */
        get: operations["list_digests"];
        put?: never;
        /**
         * Sends a summary of the period's incidents to a channel every day or week, e.g.
         *     `{"channel_id": "…", "cadence": "daily", "hour": 8, "timezone": "Europe/Berlin"}`.
         */
        post: operations["create_digest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/digests/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_digest"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's incidents, newest first: `?status=open` lists the ones nobody has acknowledged. */
        get: operations["list_incidents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One incident with its timeline (alerts, recoveries, changes, notifications) and where it was sent. */
        get: operations["get_incident"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}/acknowledge": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Someone is on it: notifications stop escalating. 409 when it already ended. */
        post: operations["acknowledge_incident"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}/close": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Closes it as `expected` or `no_action_needed`; an anomaly's incident passes the verdict to its
         *     detector (`expected`, or `false_positive` for no action needed), as anomaly feedback does.
         */
        post: operations["close_incident"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}/comments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Adds a comment to the incident's timeline. */
        post: operations["comment_incident"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Ends the incident; every channel told of its opening is told it is resolved. */
        post: operations["resolve_incident"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}/routing": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Where the incident goes under the current policy and why: its owner (and which entry won),
         *     every rule with whether it held, the channels with their reasons, the escalation tiers.
         */
        get: operations["explain_routing"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/incidents/{id}/snooze": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Quiet until a time (`until`, RFC 3339) or for `minutes`; it opens again when the time comes. */
        post: operations["snooze_incident"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tenant's background jobs (detection of its assets, ...), newest first: state (`queued`,
         *     `running`, `succeeded`, `dead`), attempts, the last error and when a queued job runs next.
         *     System jobs (the periodic pass) belong to no tenant and are not listed.
         */
        get: operations["list_jobs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** OpenLineage HTTP transport endpoint (`POST {url}/api/v1/lineage` with a RunEvent body). */
        post: operations["record_openlineage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage/dbt": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Records the lineage of every model in a dbt `manifest.json` (the request body). */
        post: operations["record_dbt"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage/downstream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Datasets (or, with `column`, columns) derived from the given one. */
        get: operations["downstream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage/impact": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every dataset downstream of one, with the measured asset it is (if any) and the jobs that carry
         *     the data there.
         */
        get: operations["impact"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage/path": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The shortest lineage path between two datasets or two columns. */
        get: operations["path"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage/sql": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Records the lineage of a SQL script (tables and columns it reads and writes). */
        post: operations["record_sql"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/lineage/upstream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Datasets (or, with `column`, columns) the given one is derived from. */
        get: operations["upstream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/members": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Members of the tenant and their roles. */
        get: operations["list_members"];
        put?: never;
        /**
         * Adds a member: creates the user when the e-mail address is new, or invites the existing user
         *     into this tenant. An existing user's password and profile are theirs: they are set here only by
         *     an owner of the only tenant the user belongs to (this one), and every such change is audited in
         *     each of the user's tenants. Changing an existing member's role follows the same rule as `PATCH`.
         */
        post: operations["add_member"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Removes a member from the tenant; the API tokens they made stop working. */
        delete: operations["remove_member"];
        options?: never;
        head?: never;
        /** Changes a member's role. */
        patch: operations["change_member"];
        trace?: never;
    };
    "/api/v1/notifications": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Notifications, newest first; `?state=dead` is the dead-letter list. */
        get: operations["list_notifications"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/notifications/{id}/resend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Queues a dead notification again with a fresh set of attempts; 409 unless it is dead. */
        post: operations["resend_notification"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ownership": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Owners, subscribers and channels per asset, tag, source and the tenant, most specific first
         *     (an incident's owner is the first that matches: asset > tag > source > tenant).
         */
        get: operations["list_ownership"];
        /**
         * Sets who owns an asset, tag, source or the tenant, e.g. `{"scope": "tag", "target": "finance",
         *     "owners": ["team-payments"], "channel_ids": ["…"]}` (replacing that entry).
         */
        put: operations["put_ownership"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ownership/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete: operations["delete_ownership"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/roi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Data downtime (time to detect from when the problem began, plus time to resolve), incidents
         *     caught before a downstream consumer, fixes applied, and hours and money saved under the
         *     tenant's cost assumptions. With no incidents in the period, `figures` is null and `message`
         *     says there is nothing to compute.
         */
        get: operations["get_roi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/routing-rules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tenant's routing rules in evaluation order. With none, the default route holds: critical
         *     and high incidents go to their owner's channels, or to every channel.
         */
        get: operations["list_rules"];
        put?: never;
        /**
         * Adds a rule, e.g. `{"name": "page finance", "expression": "severity >= high and tag = finance",
         *     "channel_ids": ["…"], "escalation": [{"after_minutes": 15, "channel_ids": ["…"]}]}`. 400 names
         *     the field (an expression's mistake with its column), 409 when the name is taken.
         */
        post: operations["create_rule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/routing-rules/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Replaces a rule whole (the same body as creating one). */
        put: operations["replace_rule"];
        post?: never;
        delete: operations["delete_rule"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/scores": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Scores of the tenant's sources, tags or the tenant itself: the mean of the latest scores of
         *     their measured assets.
         */
        get: operations["group_scores"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/settings/roi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tenant's cost assumptions (engineer hourly rate, cost of an hour of downtime per asset
         *     tier, platform cost, the detection-time counterfactual); 404 saying how to set them when unset.
         */
        get: operations["get_roi_settings"];
        /**
         * Sets the tenant's cost assumptions (admin): every amount a number ≥ 0, a `default` tier cost,
         *     an ISO 4217 currency; otherwise 400 naming the field. ROI reports from now on use them.
         */
        put: operations["put_roi_settings"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/settings/score-weights": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Sets the tenant's dimension weights (admin): all seven, each in [0, 1], summing to 1 (± 1e-6);
         *     otherwise 400 naming the field. Scores computed from now on use them.
         */
        put: operations["put_score_weights"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/slas": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's SLAs, oldest first. */
        get: operations["list_slas"];
        put?: never;
        /**
         * Creates an SLA on one asset (a freshness bound evaluated per minute against the error budget
         *     `(1 − target) × window`).
         */
        post: operations["create_sla"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/slas/{id}/compliance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Each objective's compliance over the window ending now: compliance %, budget, spent and
         *     remaining minutes, burn rate, projected exhaustion, breached.
         */
        get: operations["sla_compliance"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/sso/connections": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's single sign-on connections (never their client secrets). */
        get: operations["list_sso"];
        put?: never;
        /**
         * Connects an OpenID Connect identity provider; its users sign in at
         *     `/api/v1/auth/sso/{tenant}/start` and are provisioned on first login.
         */
        post: operations["create_sso"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/sso/connections/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Removes a single sign-on connection (its users keep their memberships). */
        delete: operations["delete_sso"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The tenant's API tokens (never their secrets). */
        get: operations["list_tokens"];
        put?: never;
        /** Creates an API token for automation, scoped to a role no higher than the caller's. */
        post: operations["create_token"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tokens/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revokes an API token at once. */
        delete: operations["revoke_token"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/warnings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every bounded series of the tenant whose forecast crosses its bound within the horizon. */
        get: operations["warnings"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description The revision an agent config document was stored as. */
        AgentConfigRevision: {
            agent_id: string;
            /** Format: int64 */
            revision: number;
        };
        /** @description The tenant's agents with their liveness. */
        AgentList: {
            items: components["schemas"]["AgentSummary"][];
        };
        AgentSummary: {
            /** Format: date-time */
            enrolled_at?: string | null;
            id: string;
            /** Format: date-time */
            last_batch_at?: string | null;
            /** Format: date-time */
            last_heartbeat_at?: string | null;
            /** @description What the agent said about itself in its last heartbeat (`running`, `stopped`, …). */
            reported_status: string;
            /** @description online, stale or offline, from the newer of the last heartbeat and the last batch. */
            status: components["schemas"]["Liveness"];
            version: string;
        };
        /** @description An anomaly event as stored, with the asset's name for display. */
        AnomalyEvent: {
            /** @description `schema.name` of the asset. */
            asset: string;
            /** Format: uuid */
            asset_id: string;
            /** @description Empty for table-level metrics. */
            column: string;
            /** @description What the point was judged against (rhythm, usual drift, contributing features), if any. */
            details?: unknown;
            /** Format: date-time */
            detected_at: string;
            /** Format: double */
            expected_high?: number | null;
            /** Format: double */
            expected_low?: number | null;
            /** @description `expected` or `false_positive` once a user judged it. */
            feedback?: string | null;
            /** Format: date-time */
            feedback_at?: string | null;
            /** Format: uuid */
            id: string;
            metric: string;
            /** Format: date-time */
            observed_at: string;
            /** Format: double */
            score: number;
            source_name: string;
            /** Format: double */
            value: number;
        };
        AnomalyEventList: {
            items: components["schemas"]["AnomalyEvent"][];
        };
        ApiTokenInfo: {
            /** Format: date-time */
            created_at: string;
            created_by: string;
            /** Format: date-time */
            expires_at?: string | null;
            /** Format: uuid */
            id: string;
            /** Format: date-time */
            last_used_at?: string | null;
            name: string;
            /** Format: date-time */
            revoked_at?: string | null;
            role: components["schemas"]["Role"];
        };
        /** @description The tenant's API tokens (never their secrets) (a JSON array). */
        ApiTokenList: components["schemas"]["ApiTokenInfo"][];
        AssetDetail: components["schemas"]["AssetSummary"] & {
            columns: components["schemas"]["ColumnDetail"][];
        };
        /** @description A series' forecast and the first bound it is expected to cross, if any. */
        AssetForecast: {
            bounds: components["schemas"]["BoundPair"];
            breach?: components["schemas"]["BreachBody"] | null;
            column: string;
            forecast?: components["schemas"]["ForecastBody"] | null;
            history_points: number;
            metric: string;
        };
        /** @description An asset's score as `GET /api/v1/assets/{id}/score` returns it. */
        AssetScore: {
            /** Format: uuid */
            asset_id: string;
            /** @description The same over 7 days (summing to `trend_7d`). */
            causes_7d: components["schemas"]["Cause"][];
            /**
             * @description What moved the score over the last 24 hours: the checks and columns whose points changed,
             *     the largest first; their contributions sum to `trend_24h`. Empty when nothing moved or
             *     there is no score from 24 hours ago.
             */
            causes_24h: components["schemas"]["Cause"][];
            /**
             * Format: date-time
             * @description When it was computed; null when the asset was never scored.
             */
            computed_at?: string | null;
            /**
             * Format: double
             * @description The weight share of the measured dimensions, 0-1.
             */
            coverage: number;
            /** @description Each of the seven dimensions: its score (null: not measured) and the evidence behind it. */
            dimensions: components["schemas"]["Dimensions"];
            /**
             * Format: double
             * @description 0-100, or null when no dimension has evidence ("not measured").
             */
            score?: number | null;
            /**
             * Format: double
             * @description Score now minus the score 7 days ago (null when either is unknown).
             */
            trend_7d?: number | null;
            /**
             * Format: double
             * @description Score now minus the score 24 hours ago (null when either is unknown).
             */
            trend_24h?: number | null;
            weights: components["schemas"]["Weights"];
        };
        AssetSummary: {
            agent_id: string;
            /** Format: int64 */
            column_count: number;
            /** Format: date-time */
            first_seen_at: string;
            /** Format: uuid */
            id: string;
            kind: string;
            last_error?: string | null;
            /** Format: date-time */
            last_seen_at: string;
            name: string;
            /**
             * Format: double
             * @description Latest measured row count; `None` for assets that are described but not measured (views).
             */
            row_count?: number | null;
            schema_name: string;
            source_kind: string;
            source_name: string;
            /**
             * @description The asset's tier for the cost of its downtime (`PUT /api/v1/assets/{id}/tier`); `None`:
             *     the ROI settings' `default`.
             */
            tier?: string | null;
        };
        /** @description `PUT /api/v1/assets/{id}/tier`: the tier the cost of the asset's downtime is taken from. */
        AssetTier: {
            /**
             * @description Lower-case letters, digits, `-` and `_`, 1 to 63 characters, starting with a letter or a
             *     digit (`tier-1`, `critical`); `null` clears it (the settings' `default` applies).
             */
            tier?: string | null;
        };
        /** @description A contract attached to an asset, as the control plane reads it, with its latest evaluation. */
        AttachedContract: {
            /** @description `source.schema.name` of the asset. */
            asset: string;
            /** Format: uuid */
            asset_id: string;
            /** Format: date-time */
            attached_at: string;
            attached_by: string;
            columns: components["schemas"]["ContractColumn"][];
            contract_id: string;
            /** @description The contract's dataset that describes the asset. */
            dataset: string;
            /** @description `odcs` or `data_contract_specification`. */
            flavor: string;
            /** @description The quality rules as the checks they run as. */
            rules: components["schemas"]["ContractRule"][];
            service_levels: components["schemas"]["ContractServiceLevel"][];
            /**
             * Format: uuid
             * @description The SLA its service levels state (freshness, availability), replaced when the contract is
             *     attached again and removed when it is detached; `None` when it states neither.
             */
            sla_id?: string | null;
            status: components["schemas"]["ContractStatus"];
            version: string;
            /** @description Parts of the contract with no CWIC equivalent (they are not run), at their line. */
            warnings: components["schemas"]["ContractDiagnostic"][];
        };
        AuditRecord: {
            action: string;
            actor: string;
            /** Format: date-time */
            at: string;
            details: unknown;
            /** Format: int64 */
            id: number;
            outcome: string;
            source_ip: string;
            target: string;
        };
        /** @description Audit records, newest first (a JSON array). */
        AuditRecordList: components["schemas"]["AuditRecord"][];
        /** @description What the proposal would have done over the replayed days. */
        BacktestReport: {
            /**
             * Format: int32
             * @description What actually happened over the same days, to compare.
             */
            actual_incidents: number;
            /**
             * Format: int32
             * @description Alerts replayed (firing ones and recoveries).
             */
            alerts: number;
            /** Format: date-time */
            from: string;
            /**
             * Format: int32
             * @description Incidents the proposal would have opened.
             */
            incidents: number;
            /** @description Past incidents it would have missed. */
            missed: components["schemas"]["Missed"][];
            notifications: components["schemas"]["ChannelCount"][];
            /**
             * Format: int32
             * @description Of those, opened within the suppression interval (notifying nobody).
             */
            suppressed: number;
            /** Format: date-time */
            to: string;
        };
        /** @description `POST /api/v1/alert-rules/backtest`: replay the last `days` of alerts through `rules`. */
        BacktestRequest: {
            /**
             * Format: int32
             * @description 1 to 90; default 7.
             */
            days?: number | null;
            rules: components["schemas"]["RuleSet"];
        };
        /** @description The bounds a forecast was checked against. */
        BoundPair: {
            /** Format: double */
            lower?: number | null;
            /** Format: double */
            upper?: number | null;
        };
        BoundsBody: {
            column?: string | null;
            /** Format: double */
            lower?: number | null;
            metric: string;
            /** Format: double */
            upper?: number | null;
        };
        /** @description The first forecast step past a bound. */
        BreachBody: {
            /** Format: date-time */
            at?: string | null;
            /** Format: double */
            bound: number;
            /** @description Whether the whole 95% interval is past the bound at that step, or only the expected value. */
            certain: boolean;
            /** Format: int64 */
            in_secs: number;
            /** @description `lower` or `upper`. */
            side: string;
            /** Format: double */
            value: number;
        };
        Cause: {
            details: unknown;
            kind: string;
            /** Format: double */
            score: number;
            summary: string;
        };
        CauseReport: {
            anomaly: components["schemas"]["AnomalyEvent"];
            causes: components["schemas"]["Cause"][];
            explanation: string;
        };
        /** @description A channel as the API shows it: never its secret. */
        Channel: {
            /** @description Another API base than the service's, when one was given. */
            api_url?: string | null;
            /** @description `slack` with a bot: the channel it posts in. */
            channel?: string | null;
            /** Format: date-time */
            created_at: string;
            created_by: string;
            from?: string | null;
            /** Format: uuid */
            id: string;
            kind: string;
            name: string;
            quiet_hours?: components["schemas"]["QuietHours"] | null;
            /** @description Whether a secret is stored (it is never shown). */
            secret_set: boolean;
            smtp_host?: string | null;
            /** @description `email`: the recipients, the sender and the SMTP server. */
            to?: string[] | null;
            /** @description Where it POSTs (`webhook`, `teams`, `slack` incoming webhook). */
            url?: string | null;
        };
        /** @description Notifications one channel would have had. */
        ChannelCount: {
            channel: string;
            /**
             * Format: int32
             * @description "Opened" messages.
             */
            opened: number;
            /**
             * Format: int32
             * @description "Resolved" messages.
             */
            resolved: number;
        };
        ChannelList: {
            items: components["schemas"]["Channel"][];
        };
        /** @description A check's dimension on an asset, as `PUT /api/v1/assets/{id}/checks/{check}/dimension` returns it. */
        CheckDimension: {
            /** Format: uuid */
            asset_id: string;
            check_name: string;
            /** @description The dimension the check counts in now. */
            dimension: string;
            /** @description Whether `dimension` is an override. */
            overridden: boolean;
            /** @description The dimension its template gives it. */
            template_dimension: string;
        };
        /** @description The checks of an asset. */
        CheckList: {
            items: components["schemas"]["CheckSummary"][];
        };
        /** @description One check's outcome in one collection. */
        CheckRun: {
            check_name: string;
            columns: string[];
            dimension: string;
            /** Format: int64 */
            failing_rows?: number | null;
            message: string;
            /** Format: date-time */
            observed_at: string;
            owner: string;
            severity: string;
            /** @description `pass`, `fail` or `error`. */
            status: string;
            tags: string[];
            template: string;
            /** Format: int64 */
            total_rows?: number | null;
            /** @description The measured value of a metric check, as text. */
            value: string;
        };
        CheckStatusAt: {
            /** Format: int64 */
            failing_rows?: number | null;
            /** Format: date-time */
            observed_at: string;
            status: string;
        };
        /** @description A check's latest outcome and its recent record. */
        CheckSummary: components["schemas"]["CheckRun"] & {
            /** @description Statuses of its latest runs, newest first (at most [`CHECK_HISTORY`]). */
            history: components["schemas"]["CheckStatusAt"][];
        };
        /** @description `POST /api/v1/incidents/{id}/close`. */
        Close: {
            note?: string | null;
            /** @description `expected` (the data is right: teach the detector) or `no_action_needed`. */
            reason: string;
        };
        ColumnDetail: {
            data_type: string;
            name: string;
            /**
             * Format: double
             * @description Latest NULL count, if the asset is measured.
             */
            null_count?: number | null;
            nullable: boolean;
            /** Format: int32 */
            ordinal: number;
        };
        /** @description The agent's answer to a command. */
        CommandAnswer: {
            fix?: components["schemas"]["FixOutcome"] | null;
            message: string;
            ok: boolean;
        };
        /** @description A command sent and the agent's answer. */
        CommandReply: {
            agent_id: string;
            answer: components["schemas"]["CommandAnswer"];
            command: string;
        };
        /** @description A command as a caller sends it (and as the agent receives it). */
        CommandRequest: {
            /**
             * @description `fix`: apply it (one transaction, with a before-image); without it, a dry run that changes
             *     nothing and tells how many rows would change.
             */
            apply?: boolean;
            /** @description `fix`: the check's name, e.g. `trimmed(name)`. */
            check?: string | null;
            /**
             * @description `run_now` (collect at once), `reload_config` (re-read the config file and restart with it) or
             *     `fix` (preview, apply or undo the fix of a check in a source's check suite).
             */
            command: string;
            /** @description `fix`: the dataset, when several have a check of that name. */
            dataset?: string | null;
            /** @description `fix`: the source, by its name in the agent's config. */
            source?: string | null;
            /** @description `fix`: undo the applied fix with this id. */
            undo?: string | null;
        };
        /** @description `POST /api/v1/incidents/{id}/comments`. */
        Comment: {
            /** @description 1 to 2,000 characters. */
            text: string;
        };
        ContractCheck: {
            /** Format: int64 */
            failing_rows?: number | null;
            message: string;
            name: string;
            /** Format: date-time */
            observed_at: string;
            severity: string;
            /** @description `pass`, `fail` or `error`. */
            status: string;
            template: string;
            /** Format: int64 */
            total_rows?: number | null;
        };
        ContractColumn: {
            line: number;
            logical_type?: string | null;
            name: string;
            physical_type?: string | null;
            primary_key: boolean;
            required: boolean;
            unique: boolean;
        };
        /** @description A problem of a contract document at `line:column` of its `key`. */
        ContractDiagnostic: {
            column?: number | null;
            key: string;
            line?: number | null;
            message: string;
        };
        /** @description A contract to attach. */
        ContractDocument: {
            /**
             * @description The contract's dataset (ODCS schema object, datacontract.com model) that describes this
             *     asset; needed only when the contract has several and none is named like the asset.
             */
            dataset?: string | null;
            /**
             * @description The contract as YAML text: Open Data Contract Standard v3 (`apiVersion: v3.x`) or the
             *     datacontract.com specification (`dataContractSpecification: …`).
             */
            document: string;
        };
        ContractRule: {
            column?: string | null;
            line: number;
            severity: string;
            /** @description What the contract said, e.g. `nullValues mustBe 0`. */
            source: string;
            /** @description The check template the rule runs as. */
            template: string;
        };
        ContractServiceLevel: {
            element?: string | null;
            /** @description freshness, latency, retention, availability, frequency, or the contract's own name. */
            kind: string;
            line: number;
            note?: string | null;
            /**
             * @description The objective of the contract's SLA it became (`freshness_bound_minutes`,
             *     `min_availability`), or `None` with `note` saying why not.
             */
            objective?: string | null;
            /** Format: double */
            percentage?: number | null;
            /** Format: double */
            threshold_seconds?: number | null;
        };
        /** @description Whether the asset met its contract at its latest collection. */
        ContractStatus: {
            /** @description The latest result of each check, failing first. */
            checks: components["schemas"]["ContractCheck"][];
            errored: number;
            /**
             * Format: date-time
             * @description When the latest of its checks ran.
             */
            evaluated_at?: string | null;
            failed: number;
            /** @description One sentence for people, e.g. "violated: 1 of 12 checks fails (required(email))". */
            message: string;
            passed: number;
            /**
             * @description `not_evaluated` (no collection since it was attached), `met`, `violated` (a check fails) or
             *     `error` (a check could not run).
             */
            state: string;
        };
        /** @description How far one feature of a judged row was from its usual value. */
        Contribution: {
            feature: string;
            /**
             * Format: double
             * @description Median over the training rows.
             */
            usual: number;
            /** Format: double */
            value: number;
            /**
             * Format: double
             * @description Robust z-score against the training rows.
             */
            z: number;
        };
        /** @description A new one-time enrollment token; `token` is shown here only (the store keeps its hash). */
        CreatedEnrollmentToken: {
            /** @description The agent id the token is bound to; any when null. */
            agent_id?: string | null;
            /** Format: date-time */
            expires_at: string;
            /** Format: uuid */
            id: string;
            tenant_id: string;
            token: string;
        };
        CreatedToken: components["schemas"]["ApiTokenInfo"] & {
            /** @description The secret, shown this once. Send it as `Authorization: Bearer <token>`. */
            token: string;
        };
        /** @description `POST /api/v1/slas`. */
        CreateSla: {
            /**
             * Format: int32
             * @description Every incident acknowledged within this many minutes of opening.
             */
            ack_within_minutes?: number | null;
            /**
             * Format: uuid
             * @description The asset the SLA is about (this or `tag`).
             */
            asset_id?: string | null;
            /**
             * Format: int32
             * @description The data must have been updated at most this many minutes ago.
             */
            freshness_bound_minutes?: number | null;
            /**
             * Format: int32
             * @description At most this many critical incidents open at once on the covered assets.
             */
            max_open_critical?: number | null;
            /**
             * Format: double
             * @description At least this share (0 to 1) of collections must succeed over the trailing 24 hours.
             */
            min_availability?: number | null;
            /**
             * Format: double
             * @description The asset's quality score must be at least this (0 to 100).
             */
            min_score?: number | null;
            name: string;
            /**
             * Format: int32
             * @description Every incident resolved within this many minutes of opening.
             */
            resolve_within_minutes?: number | null;
            /** @description Or a tag: the SLA covers every asset whose check results carry it. */
            tag?: string | null;
            /**
             * Format: double
             * @description Share of minutes each objective must be met in, strictly between 0 and 1 (default 0.99).
             */
            target?: number | null;
            /** @description Rolling window such as `30d`, `12h`, `90m` (default `30d`). */
            window?: string | null;
        };
        /**
         * @description A dataset: `namespace` is where it lives (a source name, an OpenLineage namespace), `name` its
         *     `schema.table` (or a path).
         */
        DatasetRef: {
            name: string;
            namespace: string;
        };
        /** @description What recording a dbt manifest stored. */
        DbtLineageRecorded: {
            /** Format: int64 */
            edges_closed: number;
            /** Format: int64 */
            edges_opened: number;
            /** @description Models read. */
            jobs: number;
            project: string;
            /** @description Models whose SQL could not be read (their table lineage is kept). */
            warnings: string[];
        };
        /** @description Dead letters, newest first (a JSON array). */
        DeadLetterList: components["schemas"]["DeadLetterRecord"][];
        /** @description A dead letter as the API lists it (the payload's size, not its bytes). */
        DeadLetterRecord: {
            consumer: string;
            /**
             * Format: int32
             * @description How often the broker had delivered the message when it was set aside.
             */
            deliveries: number;
            /** Format: uuid */
            id: string;
            /** Format: int32 */
            payload_bytes: number;
            reason: string;
            /** Format: date-time */
            received_at: string;
            /** Format: int64 */
            stream_sequence?: number | null;
            subject: string;
        };
        Digest: {
            cadence: string;
            /** Format: uuid */
            channel_id: string;
            /** Format: date-time */
            created_at: string;
            created_by: string;
            /** Format: int32 */
            hour: number;
            /** Format: uuid */
            id: string;
            /**
             * Format: date-time
             * @description The end of the last period sent (at creation: then, so the first digest covers what follows).
             */
            last_period_end?: string | null;
            min_severity: string;
            timezone: string;
            /** Format: int32 */
            weekday: number;
        };
        /** @description `POST /api/v1/digests`. */
        DigestInput: {
            /** @description `daily` or `weekly`. */
            cadence: string;
            /**
             * Format: uuid
             * @description A webhook, Slack, Teams or email channel (an email channel to one person is their digest).
             */
            channel_id: string;
            /**
             * Format: int32
             * @description The local hour it goes out at, 0 to 23; default 8.
             */
            hour?: number;
            /** @description The least severe incidents it lists; default `low` (all). */
            min_severity?: string;
            /** @description An IANA time zone; default `UTC`. */
            timezone?: string;
            /**
             * Format: int32
             * @description For weekly digests: 1 Monday … 7 Sunday; default 1.
             */
            weekday?: number;
        };
        DigestList: {
            items: components["schemas"]["Digest"][];
        };
        /** @description The dimension a check counts in: one of the seven, or null for its template's. */
        DimensionRequest: {
            dimension?: string | null;
        };
        /** @description All seven dimensions (a stored row missing one reads it as not measured). */
        Dimensions: {
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            accuracy: components["schemas"]["DimensionScore"];
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            completeness: components["schemas"]["DimensionScore"];
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            consistency: components["schemas"]["DimensionScore"];
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            integrity: components["schemas"]["DimensionScore"];
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            timeliness: components["schemas"]["DimensionScore"];
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            uniqueness: components["schemas"]["DimensionScore"];
            /**
             * @default {
             *       "evidence": [],
             *       "score": null
             *     }
             */
            validity: components["schemas"]["DimensionScore"];
        };
        /** @description A dimension's score (0-100, or `null` when not measured) and the evidence behind it. */
        DimensionScore: {
            evidence: components["schemas"]["EvidenceItem"][];
            /** Format: double */
            score?: number | null;
        };
        /** @description The error body as the OpenAPI document describes it. */
        ErrorBody: {
            /**
             * @description Machine-readable: bad_request, tenant_required, unauthenticated, forbidden, not_found,
             *     conflict, method_not_allowed, payload_too_large, unsupported_media_type, rate_limited,
             *     unavailable, internal.
             */
            code: string;
            /** @description What was wrong, e.g. `{"field": "limit"}`; null when there is nothing more to say. */
            details: unknown;
            message: string;
        };
        /** @description An escalation step as routed for an incident (stored on it when it opens). */
        EscalationStep: {
            /** Format: int32 */
            after_minutes: number;
            channel_ids: string[];
            /** @description The rule it comes from. */
            rule: string;
            /**
             * Format: int32
             * @description 1 for the first step after the opening message.
             */
            tier: number;
        };
        /** @description One piece of evidence behind a dimension's score. */
        EvidenceItem: {
            /** @description The column, for a column's metric or a single-column check. */
            column?: string | null;
            /** @description What was measured, e.g. `12 nulls in 1000 rows` or `3 of 500 rows fail`. */
            detail: string;
            /** @description `metric` or `check`. */
            kind: string;
            /** @description The metric (`null_count`) or the check's name. */
            name: string;
            /** @description The check's severity (checks only). */
            severity?: string | null;
            /** @description The check's template (checks only). */
            template?: string | null;
            /**
             * Format: double
             * @description This item's own score, 0-100.
             */
            value: number;
            /**
             * Format: double
             * @description This item's share of the dimension's score (the items' weights sum to 1).
             */
            weight: number;
        };
        FeedbackBody: {
            /** @description `expected` or `false_positive`. */
            verdict: string;
        };
        /** @description What a `fix` did or would do, as the agent tells it. */
        FixOutcome: {
            applied?: boolean | null;
            check?: string | null;
            dataset?: string | null;
            /** @description What the fix does, in words. */
            fix?: string | null;
            /** @description The applied fix's id, for `undo`. */
            id?: string | null;
            /** Format: int64 */
            rows_affected?: number | null;
            /** Format: int64 */
            rows_changed?: number | null;
            /** Format: int64 */
            rows_restored?: number | null;
            /** @description The statement the fix runs. */
            sql?: string | null;
            /** @description `undo`: the fix undone and the rows it put back. */
            undone?: string | null;
        };
        /** @description A forecast of a series: its spacing, season and trend, and the steps ahead with their band. */
        ForecastBody: {
            /** Format: int64 */
            interval_secs: number;
            points: components["schemas"]["ForecastPointBody"][];
            /** Format: double */
            residual_sigma: number;
            /** Format: int64 */
            seasonal_period_secs?: number | null;
            /** Format: double */
            trend_per_day: number;
        };
        /** @description One forecast step. */
        ForecastPointBody: {
            /** Format: date-time */
            at?: string | null;
            /** Format: double */
            high: number;
            /** Format: double */
            low: number;
            /** Format: double */
            value: number;
        };
        /** @description A group's score: the mean of its assets' latest scores (assets not measured at all left out). */
        GroupScore: {
            /**
             * Format: int64
             * @description Assets with a score row.
             */
            assets: number;
            /**
             * Format: double
             * @description Mean coverage over the group's scored assets, 0-1.
             */
            coverage: number;
            /** @description The source name, the tag, or the tenant id. */
            group: string;
            /**
             * Format: int64
             * @description Of them, those with at least one measured dimension.
             */
            measured_assets: number;
            /**
             * Format: double
             * @description Mean of the measured assets' scores, 0-100; null when none is measured.
             */
            score?: number | null;
        };
        /** @description Group scores, from each asset's latest score. */
        GroupScores: {
            group_by: string;
            items: components["schemas"]["GroupScore"][];
        };
        Impact: {
            /** Format: date-time */
            as_of: string;
            impacted: components["schemas"]["ImpactedDataset"][];
            root: components["schemas"]["LineageNode"];
        };
        /** @description A dataset downstream of the impact's root. */
        ImpactedDataset: {
            /**
             * Format: uuid
             * @description The measured asset it is, if any.
             */
            asset_id?: string | null;
            dataset: string;
            /** Format: int32 */
            depth: number;
            namespace: string;
            /** @description The jobs that carry the data there. */
            via_jobs: string[];
        };
        /** @description An incident as the API shows it. */
        Incident: {
            /** Format: date-time */
            acknowledged_at?: string | null;
            /**
             * Format: int32
             * @description Alerts joined.
             */
            alerts: number;
            /** @description The asset's qualified name, `schema.table`; null for a tenant-level incident. */
            asset?: string | null;
            /** Format: uuid */
            asset_id?: string | null;
            /**
             * Format: date-time
             * @description When the problem began (its first alert's observation) and when CWIC opened the incident.
             */
            began_at: string;
            /** @description `expected` or `no_action_needed`, for a closed incident. */
            close_reason?: string | null;
            /** Format: uuid */
            id: string;
            /** @description `check_failed`, `check_error`, `anomaly`, `score_drop`, `schema_change`, `sla_breach` or `sla_budget`. */
            kind: string;
            /** Format: date-time */
            last_alert_at?: string | null;
            /** Format: date-time */
            opened_at: string;
            /** Format: uuid */
            parent_id?: string | null;
            /** @description How it ended: "resolved automatically: check … passed", or a person's note. */
            resolution?: string | null;
            /** Format: date-time */
            resolved_at?: string | null;
            /** @description What its alerts group by on the asset: `check:<name>`, `anomaly:<metric>:<column>`, `score_drop` … */
            rule: string;
            /** @description `critical`, `high`, `medium` or `low`. */
            severity: string;
            /** Format: date-time */
            snoozed_until?: string | null;
            /** @description `open`, `acknowledged`, `snoozed`, `resolved` or `closed`. */
            status: string;
            /** @description The first alert's line, e.g. "check not_null(email) failed: 142 of 1,000 rows". */
            title: string;
        };
        /** @description An incident with what happened to it and where it was sent. */
        IncidentDetail: components["schemas"]["Incident"] & {
            /**
             * @description Its evidence: the check and rows, the metric and band, the scores; `owner` (who owns it and
             *     why) and `root_causes` (the RCA engine's likeliest, for an anomaly) once known.
             */
            details: Record<string, never>;
            notifications: components["schemas"]["Notification"][];
            /** @description What to do about it. */
            recommended_action: string;
            /** @description Oldest first: its alerts and recoveries, and every change. */
            timeline: components["schemas"]["TimelineEntry"][];
        };
        IncidentList: {
            items: components["schemas"]["Incident"][];
        };
        /** @description `POST /api/v1/incidents/{id}/acknowledge|resolve`: an optional note for the timeline. */
        IncidentNote: {
            /** @description Up to 2,000 characters. */
            note?: string | null;
        };
        /** @description A page of the tenant's jobs, newest first. */
        JobList: {
            items: components["schemas"]["JobRecord"][];
        };
        /** @description A job as the API shows it. */
        JobRecord: {
            /** Format: int32 */
            attempts: number;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            finished_at?: string | null;
            /** Format: uuid */
            id: string;
            /** @description `detect_asset`, ... */
            kind: string;
            /** @description The error of the last failed attempt, if any. */
            last_error?: string | null;
            /** @description The replica holding or last holding the job. */
            lease_owner?: string | null;
            /** Format: date-time */
            lease_until?: string | null;
            /** Format: int32 */
            max_attempts: number;
            payload: Record<string, never>;
            /**
             * Format: date-time
             * @description When a queued job may run next (after a failure: the back-off).
             */
            run_after: string;
            /** @description `queued`, `running`, `succeeded` or `dead` (failed `max_attempts` times). */
            state: string;
            /** Format: date-time */
            updated_at: string;
        };
        /** @description One point of a series with the detector's verdict on it. */
        JudgedPointBody: {
            /** @description `table_vector` only: the features furthest from their usual values, furthest first. */
            contributions?: components["schemas"]["Contribution"][] | null;
            /** Format: date-time */
            observed_at: string;
            /**
             * Format: double
             * @description The metric's value; for `table_vector`, the isolation score.
             */
            value: number;
            verdict: components["schemas"]["Verdict"];
        };
        /** @description A series as its detector sees it, with the times that open an anomaly event. */
        JudgedSeries: {
            anomalies: string[];
            /** @description Empty for table-level metrics and `table_vector`. */
            column: string;
            metric: string;
            points: components["schemas"]["JudgedPointBody"][];
        };
        /** @description What recording a job's lineage changed. */
        LineageChange: {
            /** Format: int64 */
            closed: number;
            /** Format: int64 */
            opened: number;
            /** @description The event was older than the job's current lineage and was ignored. */
            stale: boolean;
        };
        LineageEdge: {
            job: string;
            kind: string;
            origin: string;
            /** Format: uuid */
            source: string;
            /** Format: uuid */
            target: string;
            /** Format: date-time */
            valid_from: string;
            /** Format: date-time */
            valid_to?: string | null;
        };
        LineageNode: {
            /**
             * Format: uuid
             * @description The measured asset this dataset is (same source name and `schema.table`), if any.
             */
            asset_id?: string | null;
            /** @description The column's name for column nodes. */
            column?: string | null;
            /** @description `schema.table` for datasets and columns, the job's name for jobs. */
            dataset: string;
            /** Format: uuid */
            id: string;
            kind: string;
            namespace: string;
        };
        LineagePath: {
            /** Format: date-time */
            as_of: string;
            /** @description The nodes from start to end; null when no path joins them. */
            path?: components["schemas"]["LineageNode"][] | null;
        };
        /** @description Whether a run event's lineage was stored, and what it changed. */
        LineageRecorded: {
            change?: components["schemas"]["LineageChange"] | null;
            /** @description False when the event carries no lineage or is older than what is stored. */
            recorded: boolean;
        };
        LineageWalk: {
            /** Format: date-time */
            as_of: string;
            edges: components["schemas"]["LineageEdge"][];
            nodes: components["schemas"]["ReachedNode"][];
            root: components["schemas"]["LineageNode"];
        };
        /** @enum {string} */
        Liveness: "online" | "stale" | "offline";
        LoginRequest: {
            email: string;
            password: string;
            /** @description Which tenant to act in; needed only for members of several tenants. */
            tenant?: string | null;
        };
        Me: {
            /** @description `user:<email>` or `token:<name>:<id>`. */
            actor: string;
            role: components["schemas"]["Role"];
            tenant: string;
        };
        Member: {
            display_name: string;
            email: string;
            /** Format: date-time */
            joined_at: string;
            role: components["schemas"]["Role"];
            /** Format: uuid */
            user_id: string;
        };
        /** @description The tenant's members (a JSON array). */
        MemberList: components["schemas"]["Member"][];
        /** @description A series' bounds as stored. */
        MetricBoundSet: {
            column: string;
            /** Format: double */
            lower?: number | null;
            metric: string;
            /** Format: double */
            upper?: number | null;
        };
        MetricPoint: {
            /** Format: uuid */
            batch_id: string;
            /** @description Empty for table-level metrics. */
            column: string;
            metric: string;
            /** Format: date-time */
            observed_at: string;
            /** Format: double */
            value: number;
        };
        /** @description Metric points, oldest first. */
        MetricPointList: {
            items: components["schemas"]["MetricPoint"][];
        };
        /** @description A past incident the proposal would not have opened, and why. */
        Missed: components["schemas"]["PastIncident"] & {
            why: string;
        };
        /**
         * @description `POST /api/v1/channels`: `{"kind": "webhook", "name": "...", "url": "...", "secret": "..."}`;
         *     the other kinds take their own fields (below). Secrets are stored and never returned.
         */
        NewChannel: {
            /** @description `opsgenie`: the API integration's key, sent as `Authorization: GenieKey …`. */
            api_key?: string | null;
            /**
             * @description `slack` (bot), `pagerduty`, `opsgenie`: another API base, e.g. `https://api.eu.opsgenie.com`
             *     (default: the service's public API).
             */
            api_url?: string | null;
            /** @description `slack` with a bot: the channel to post in, e.g. `#data-eng` or `C0123456789`. */
            channel?: string | null;
            /** @description `email`: the sender, e.g. `CWIC <cwic@example.com>`. */
            from?: string | null;
            /**
             * @description `webhook` (a signed JSON POST, `X-Cwic-Signature`), `slack` (an incoming webhook `url`, or a
             *     bot `token` and `channel`), `teams` (a workflow or incoming webhook `url`), `pagerduty` (an
             *     Events API v2 `routing_key`) or `opsgenie` (an `api_key`).
             */
            kind: string;
            /** @description Unique in the tenant, 1 to 200 characters, e.g. `#data-eng` or `on-call webhook`. */
            name: string;
            /** @description `email`: the SMTP user's password. */
            password?: string | null;
            quiet_hours?: components["schemas"]["QuietHours"] | null;
            /** @description `pagerduty`: the integration's routing key. */
            routing_key?: string | null;
            /** @description `webhook`: the signing key (at least 16 characters). */
            secret?: string | null;
            /** @description `email`: the SMTP server's host name. */
            smtp_host?: string | null;
            /**
             * Format: int32
             * @description `email`: its port (default 587 for `starttls`, 465 for `tls`, 25 for `none`).
             */
            smtp_port?: number | null;
            /** @description `email`: `starttls` (the default), `tls` (implicit TLS) or `none` (a relay on a trusted network). */
            smtp_tls?: string | null;
            /** @description `email`: the recipients. */
            to?: string[] | null;
            /** @description `slack` with a bot: its token (`xoxb-…`), sent as `Authorization: Bearer`. */
            token?: string | null;
            /** @description `webhook`, `teams`, `slack` (incoming webhook): where to POST, `http(s)://…`. */
            url?: string | null;
            /** @description `email`: the SMTP user, when the server wants one. */
            username?: string | null;
        };
        NewMember: {
            display_name?: string;
            email: string;
            /** @description Sets a password for local sign-in; omit for SSO-only members. */
            password?: string | null;
            role: components["schemas"]["Role"];
        };
        NewSsoConnection: {
            client_id: string;
            client_secret: string;
            default_role?: components["schemas"]["Role"] | null;
            /**
             * @description The provider's issuer, e.g. `https://login.example.com` (discovery at
             *     `/.well-known/openid-configuration` below it).
             */
            issuer_url: string;
            /** @description A short name, used in the sign-in URL when the tenant has several. */
            name: string;
        };
        NewToken: {
            /**
             * Format: int32
             * @description Days until the token expires; omit for a token that lives until revoked.
             */
            expires_in_days?: number | null;
            name: string;
            role: components["schemas"]["Role"];
        };
        /** @description One message about an incident to one channel. */
        Notification: {
            /** Format: int32 */
            attempts: number;
            channel: string;
            /** Format: uuid */
            channel_id: string;
            /** Format: date-time */
            created_at: string;
            /** @description `opened` or `resolved`. */
            event: string;
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            incident_id: string;
            last_error?: string | null;
            /**
             * Format: int32
             * @description The receiver's last HTTP status.
             */
            last_status?: number | null;
            /** @description Why it went to this channel. */
            routed_by: string;
            /** Format: date-time */
            sent_at?: string | null;
            /** @description `queued`, `sent` or `dead` (every attempt failed; re-send it). */
            state: string;
        };
        NotificationList: {
            items: components["schemas"]["Notification"][];
        };
        /** @description One objective's error budget over the window. */
        ObjectiveCompliance: {
            /** @description The budget is spent. */
            breached: boolean;
            /**
             * Format: double
             * @description `(1 − target) × window_minutes`.
             */
            budget_minutes: number;
            /**
             * Format: double
             * @description Last hour's spend relative to the sustainable rate `1 − target`.
             */
            burn_rate: number;
            /**
             * Format: double
             * @description `met / evaluated × 100` (100 when nothing was evaluated).
             */
            compliance_percent: number;
            /**
             * Format: int64
             * @description Minutes with evidence (before the first evidence nothing is evaluated nor spent).
             */
            evaluated_minutes: number;
            /**
             * Format: date-time
             * @description When the remaining budget runs out at the last hour's spend; `null` when nothing is being
             *     spent or it is already exhausted.
             */
            exhausts_at?: string | null;
            /**
             * Format: date-time
             * @description `score` and `freshness` only: when the remaining budget runs out if the assets' series
             *     (`quality_score`, `freshness_lag`) follow their forecasts over the next 7 days; `null`
             *     when the forecasts stay within the objective (or cannot be made yet: too little history).
             */
            forecast_exhausts_at?: string | null;
            /** Format: int64 */
            met_minutes: number;
            /** @description Whether the objective is met in the window's last minute (null: no evidence then). */
            met_now?: boolean | null;
            /** @description `freshness`, `score`, `open_critical`, `availability`, `acknowledge` or `resolve`. */
            objective: string;
            /** Format: double */
            remaining_minutes: number;
            /** Format: double */
            spent_minutes: number;
            /** Format: int64 */
            window_minutes: number;
        };
        /** @description Who owns an incident, and why that entry won. */
        OwnerMatch: {
            channel_ids: string[];
            owners: string[];
            /** @description `asset`, `tag`, `source` or `tenant`. */
            scope: string;
            subscribers: string[];
            target: string;
            /** @description E.g. "owned through tag finance (asset > tag > source > tenant)". */
            why: string;
        };
        OwnershipEntry: {
            channel_ids: string[];
            /** Format: uuid */
            id: string;
            owners: string[];
            scope: string;
            subscribers: string[];
            target: string;
            /** Format: date-time */
            updated_at: string;
            updated_by: string;
        };
        /**
         * @description `PUT /api/v1/ownership`: the owners, subscribers and channels of an asset, tag, source or the
         *     tenant (replacing what that entry had).
         */
        OwnershipInput: {
            /** @description Where its owners want incidents (rules with `to_owners`, and the default route). */
            channel_ids?: string[];
            /** @description The people who own it (names, emails or team handles), e.g. `["team-payments"]`. */
            owners?: string[];
            /** @description `asset`, `tag`, `source` or `tenant` (precedence in that order). */
            scope: string;
            /** @description Who else follows it. */
            subscribers?: string[];
            /**
             * @description The asset's qualified name (`schema.table`), the tag, the source's name; empty or absent for
             *     `tenant`.
             */
            target?: string;
        };
        OwnershipList: {
            /** @description Most specific first: assets, tags, sources, the tenant. */
            items: components["schemas"]["OwnershipEntry"][];
        };
        /** @description A page of a list, with the total count for the same filter. */
        Page_AssetSummary: {
            items: {
                agent_id: string;
                /** Format: int64 */
                column_count: number;
                /** Format: date-time */
                first_seen_at: string;
                /** Format: uuid */
                id: string;
                kind: string;
                last_error?: string | null;
                /** Format: date-time */
                last_seen_at: string;
                name: string;
                /**
                 * Format: double
                 * @description Latest measured row count; `None` for assets that are described but not measured (views).
                 */
                row_count?: number | null;
                schema_name: string;
                source_kind: string;
                source_name: string;
                /**
                 * @description The asset's tier for the cost of its downtime (`PUT /api/v1/assets/{id}/tier`); `None`:
                 *     the ROI settings' `default`.
                 */
                tier?: string | null;
            }[];
            /** Format: int64 */
            limit: number;
            /** Format: int64 */
            offset: number;
            /** Format: int64 */
            total: number;
        };
        /** @description What one pass did. */
        PassOutcome: {
            events: number;
            /** @description Metric series judged. */
            series: number;
            /** @description Tables judged by the table model. */
            tables: number;
        };
        /** @description A past incident, to say whether the proposal would have made it. */
        PastIncident: {
            /** @description `schema.table`. */
            asset?: string | null;
            /** Format: uuid */
            id: string;
            /** Format: date-time */
            opened_at: string;
            severity: string;
            title: string;
        };
        /** @description A route of the proposal: a channel (by name) and the lowest severity it hears of. */
        ProposedRoute: {
            channel: string;
            /** @description Only these alert kinds (`check_failed`, `anomaly`, `score_drop` …); all when absent. */
            kinds?: string[] | null;
            /** @description Default `high`. */
            min_severity?: components["schemas"]["Severity"];
            /**
             * @description A routing expression, as routing rules take (`severity = critical and schema = finance`);
             *     the replay knows each alert's severity, kind, dimension, asset, schema and source (not
             *     its tags or owners).
             */
            when?: string | null;
        };
        /** @description A channel's quiet hours as the API takes and shows them (stored in its settings). */
        QuietHours: {
            /** @description Critical notifications go through anyway; default true. */
            critical_through?: boolean;
            /** @description `HH:MM`, when quiet starts. */
            from: string;
            /** @description An IANA time zone, e.g. `Europe/Berlin`; default `UTC`. */
            timezone?: string;
            /** @description `HH:MM`, when it ends (before `from`: the next day). */
            to: string;
        };
        /** @description A node reached by a walk, with its distance from the start. */
        ReachedNode: components["schemas"]["LineageNode"] & {
            /** Format: int32 */
            depth: number;
        };
        RefreshRequest: {
            /** @description The refresh token; browsers may omit it and send the cookie instead. */
            refresh_token?: string | null;
        };
        RoiAssetDowntime: {
            /**
             * Format: uuid
             * @description `null`: incidents that are not about one asset.
             */
            asset_id?: string | null;
            detect_hours: components["schemas"]["RoiFigure"];
            downtime_hours: components["schemas"]["RoiFigure"];
            resolve_hours: components["schemas"]["RoiFigure"];
        };
        /** @description A figure and the incidents it was computed from. */
        RoiFigure: {
            incident_ids: string[];
            /** Format: double */
            value: number;
        };
        RoiFigures: {
            caught_before_downstream: components["schemas"]["RoiFigure"];
            /** @description Σ (opened_at − began_at). */
            detect_hours: components["schemas"]["RoiFigure"];
            /** @description Σ (detect + resolve). */
            downtime_hours: components["schemas"]["RoiFigure"];
            fixes_applied: components["schemas"]["RoiFigure"];
            hours_saved?: components["schemas"]["RoiFigure"] | null;
            incidents: components["schemas"]["RoiFigure"];
            money?: components["schemas"]["RoiMoney"] | null;
            per_asset: components["schemas"]["RoiAssetDowntime"][];
            /** @description Σ (resolved_at − opened_at); an unresolved incident counts until `until`. */
            resolve_hours: components["schemas"]["RoiFigure"];
            unresolved: components["schemas"]["RoiFigure"];
        };
        RoiMoney: {
            gains: components["schemas"]["RoiFigure"];
            /** Format: double */
            investment: number;
            /**
             * Format: double
             * @description `(gains − investment) / investment × 100`; `null` when the investment is 0.
             */
            roi_percent?: number | null;
        };
        /**
         * @description `GET /api/v1/roi`: `figures` is `null` when no incident was opened in the period, and
         *     `message` says there is nothing to compute.
         */
        RoiReport: {
            figures?: components["schemas"]["RoiFigures"] | null;
            message?: string | null;
            /** Format: int64 */
            period_days: number;
            /** Format: date-time */
            since: string;
            /** Format: date-time */
            until: string;
        };
        /**
         * @description The tenant's cost assumptions behind the money figures of `GET /api/v1/roi`
         *     (`PUT /api/v1/settings/roi`, admin).
         */
        RoiSettings: {
            /**
             * Format: double
             * @description How long a problem went unnoticed before CWIC, in hours (≥ 0; default 24): the
             *     counterfactual the hours saved are measured against.
             */
            baseline_detection_hours?: number;
            /** @description ISO 4217 code of the amounts (default `USD`). */
            currency?: string;
            /**
             * @description Cost of an hour of downtime per asset tier (each ≥ 0), e.g. `{"tier-1": 5000, "default": 500}`;
             *     `default` (required) applies to assets without a tier or with a tier not listed.
             */
            downtime_hourly_cost: {
                [key: string]: number;
            };
            /**
             * Format: double
             * @description What an hour of an engineer's time costs (≥ 0).
             */
            engineer_hourly_rate: number;
            /**
             * Format: double
             * @description What the platform costs per month (≥ 0): the investment of the ROI formula.
             */
            platform_cost_per_month: number;
        };
        /** @description The stored assumptions with who set them and when. */
        RoiSettingsView: components["schemas"]["RoiSettings"] & {
            /** Format: date-time */
            updated_at: string;
            updated_by: string;
        };
        /**
         * @description A member's role in a tenant. Ordered: each role can do everything the ones below it can.
         * @enum {string}
         */
        Role: "viewer" | "editor" | "admin" | "owner";
        RoleChange: {
            role: components["schemas"]["Role"];
        };
        /** @description One channel an incident goes to under the current policy, and why. */
        RoutedChannel: {
            channel: string;
            /** Format: uuid */
            channel_id: string;
            reason: string;
            /**
             * Format: uuid
             * @description The rule that routes it (none: the default route).
             */
            rule_id?: string | null;
        };
        /** @description `GET /api/v1/incidents/{id}/routing`: where the incident goes under the current policy. */
        RoutingExplanation: {
            escalation: components["schemas"]["EscalationStep"][];
            /** Format: uuid */
            incident_id: string;
            owner?: components["schemas"]["OwnerMatch"] | null;
            routes: components["schemas"]["RoutedChannel"][];
            /** @description Every enabled rule in order, and whether it held (empty: no rule, the default route). */
            rules: components["schemas"]["RuleVerdict"][];
            /** @description One sentence: which part of the policy decided. */
            summary: string;
        };
        RoutingRule: {
            channel_ids: string[];
            /** Format: date-time */
            created_at: string;
            enabled: boolean;
            escalation: components["schemas"]["Tier"][];
            expression: string;
            /** Format: uuid */
            id: string;
            name: string;
            /** Format: int32 */
            position: number;
            /** Format: int32 */
            suppress_minutes: number;
            to_owners: boolean;
            /** Format: date-time */
            updated_at: string;
            updated_by: string;
        };
        /** @description `POST /api/v1/routing-rules`, `PUT /api/v1/routing-rules/{id}`. */
        RoutingRuleInput: {
            /** @description The channels it sends to. */
            channel_ids?: string[];
            enabled?: boolean;
            /**
             * @description Who hears of an incident nobody acknowledged in time, e.g.
             *     `[{"after_minutes": 15, "channel_ids": ["…"]}]` (at most 5 tiers, 1 to 10,080 minutes).
             */
            escalation?: components["schemas"]["Tier"][];
            /**
             * @description When it holds, e.g. `severity >= high and (tag = finance or source = warehouse)`. Fields:
             *     severity (ordered), kind, dimension, tag, source, schema, asset, owner; operators `=`, `!=`,
             *     `in (…)`, `like` (`*` wildcard), `<`/`<=`/`>`/`>=` for severity; `and`, `or`, `not`,
             *     parentheses. Empty or `true`: every incident.
             */
            expression?: string;
            /** @description Unique in the tenant, 1 to 200 characters, e.g. `page finance on-call`. */
            name: string;
            /**
             * Format: int32
             * @description Rules are evaluated in ascending position, then by name; default 0.
             */
            position?: number;
            /**
             * Format: int32
             * @description After it notified of an asset and rule, it stays silent on them this many minutes (0 to
             *     10,080; default 0): a check that flaps pages once.
             */
            suppress_minutes?: number;
            /** @description Also send to the channels of the incident's owner (asset > tag > source > tenant). */
            to_owners?: boolean;
        };
        RoutingRuleList: {
            items: components["schemas"]["RoutingRule"][];
        };
        /** @description A proposed rule set; every field has the engine's current behaviour as its default. */
        RuleSet: {
            /**
             * Format: double
             * @description An open incident takes alerts that come within this many hours of its last one. Default 24.
             */
            group_window_hours?: number | null;
            min_severity?: components["schemas"]["Severity"] | null;
            /** @description Where notifications go; default: the tenant's channels, critical and high (the default route). */
            routes?: components["schemas"]["ProposedRoute"][] | null;
            /**
             * Format: double
             * @description Score drops alert from this many points (at least 5, the engine's lowest). Default 5.
             */
            score_drop_points?: number | null;
            /**
             * Format: double
             * @description A new incident on the same asset and rule within this many minutes of the last opening is
             *     counted but notifies nobody. Default 0.
             */
            suppression_minutes?: number | null;
        };
        /** @description Whether one rule held. */
        RuleVerdict: {
            expression: string;
            /** Format: uuid */
            id: string;
            matched: boolean;
            name: string;
        };
        /** @description An asset's score history, oldest first. */
        ScoreHistory: {
            items: components["schemas"]["ScorePoint"][];
        };
        /** @description A point of an asset's score history. */
        ScorePoint: {
            /** Format: date-time */
            computed_at: string;
            /**
             * Format: double
             * @description The weight share measured, 0-1.
             */
            coverage: number;
            /**
             * Format: double
             * @description 0-100, or null when nothing was measured.
             */
            score?: number | null;
        };
        Session: {
            access_token: string;
            email: string;
            /**
             * Format: int64
             * @description Seconds until the access token expires.
             */
            expires_in: number;
            /** @description Also set as an HttpOnly cookie for browsers. */
            refresh_token: string;
            role: components["schemas"]["Role"];
            tenant: string;
            token_type: string;
        };
        /** @enum {string} */
        Severity: "low" | "medium" | "high" | "critical";
        Sla: {
            /** Format: int32 */
            ack_within_minutes?: number | null;
            /** Format: uuid */
            asset_id?: string | null;
            /**
             * @description The contract attached to the asset whose service levels this SLA states; it changes with
             *     the contract (`PUT /api/v1/assets/{id}/contract`). `None`: made with `POST /api/v1/slas`.
             */
            contract_id?: string | null;
            /** Format: date-time */
            created_at: string;
            created_by: string;
            /** Format: int32 */
            freshness_bound_minutes?: number | null;
            /** Format: uuid */
            id: string;
            /** Format: int32 */
            max_open_critical?: number | null;
            /** Format: double */
            min_availability?: number | null;
            /** Format: double */
            min_score?: number | null;
            name: string;
            /** Format: int32 */
            resolve_within_minutes?: number | null;
            tag?: string | null;
            /** Format: double */
            target: number;
            /** Format: int32 */
            window_minutes: number;
        };
        /** @description `GET /api/v1/slas/{id}/compliance`. */
        SlaCompliance: {
            /** @description Some objective's budget is spent. */
            breached: boolean;
            objectives: components["schemas"]["ObjectiveCompliance"][];
            /** Format: uuid */
            sla_id: string;
            /** Format: double */
            target: number;
            /** Format: date-time */
            window_end: string;
            /** Format: date-time */
            window_start: string;
        };
        SlaList: {
            items: components["schemas"]["Sla"][];
        };
        /** @description `POST /api/v1/incidents/{id}/snooze`: until a time, or for a number of minutes. */
        Snooze: {
            /**
             * Format: int64
             * @description 1 to 43,200 (30 days); used when `until` is not given.
             */
            minutes?: number | null;
            note?: string | null;
            /**
             * Format: date-time
             * @description RFC 3339, in the future (at most 30 days ahead).
             */
            until?: string | null;
        };
        /** @description What recording a SQL script found and stored. */
        SqlLineageRecorded: {
            change: components["schemas"]["LineageChange"];
            /** @description Column edges found. */
            column_edges: number;
            recorded: boolean;
            source_tables: components["schemas"]["DatasetRef"][];
            target_tables: components["schemas"]["DatasetRef"][];
            /** @description Statements left out, and an unknown dialect. */
            warnings: string[];
        };
        SqlLineageRequest: {
            /** @description Schema of tables the SQL names without one. */
            default_schema?: string;
            /** @description Dialect name, e.g. postgres, snowflake, bigquery; unknown names use a generic dialect. */
            dialect: string;
            /** Format: date-time */
            event_time?: string | null;
            /** @description The job that runs this SQL (a view, a scheduled query); defaults to one derived from the text. */
            job?: string | null;
            /** @description Where the tables live: the agent's source name for a warehouse. */
            namespace: string;
            sql: string;
        };
        SsoConnectionInfo: {
            client_id: string;
            /** Format: date-time */
            created_at: string;
            default_role: components["schemas"]["Role"];
            /** Format: uuid */
            id: string;
            issuer_url: string;
            name: string;
        };
        /** @description The tenant's single sign-on connections (a JSON array). */
        SsoConnectionList: components["schemas"]["SsoConnectionInfo"][];
        /** @description What became of a test message. */
        TestDelivery: {
            delivered: boolean;
            /** Format: int64 */
            elapsed_ms: number;
            /** @description One sentence, e.g. "delivered: the receiver answered 200 OK". */
            message: string;
            /**
             * Format: int32
             * @description The receiver's HTTP status, when it answered.
             */
            status?: number | null;
        };
        /**
         * @description One escalation step: when an incident is still unacknowledged `after_minutes` after it opened,
         *     these channels hear of it.
         */
        Tier: {
            /** Format: int32 */
            after_minutes: number;
            channel_ids: string[];
        };
        /** @description One line of an incident's timeline. */
        TimelineEntry: {
            /** @description Who: a user, a token, or `cwic`. */
            actor: string;
            /** Format: date-time */
            at: string;
            /**
             * @description `alert`, `recovery`, `opened`, `severity_raised`, `acknowledged`, `snoozed`, `snooze_ended`,
             *     `resolved`, `closed`, `comment`, `notified`, `notification_failed`, `resent`.
             */
            kind: string;
            message: string;
        };
        TokenRequest: {
            /** @description Binds the token to one agent id; any id when absent. */
            agent_id?: string | null;
            /** @description A duration such as `15m`, `24h` or `7d`. */
            expires_in?: string | null;
        };
        /** @description The detector's judgement of one point. */
        Verdict: {
            /** @description True only at the start of an anomaly event, so one alert per event. */
            anomaly: boolean;
            /** Format: double */
            expected_high?: number | null;
            /**
             * Format: double
             * @description Expected band for this point (what a UI draws); `None` before the first forecast.
             */
            expected_low?: number | null;
            /**
             * Format: double
             * @description Signed distance from the expected value in robust standard deviations.
             */
            score: number;
            /** @description True while the detector has too little history to alert. */
            warming_up: boolean;
        };
        /** @description A bounded series whose forecast crosses its bound within the horizon, in words. */
        Warning: {
            asset: string;
            /** Format: uuid */
            asset_id: string;
            breach: components["schemas"]["BreachBody"];
            column: string;
            /** @description E.g. "public.orders row_count likely below its lower bound 1000 in about 3 h (forecast 912.4)". */
            message: string;
            metric: string;
        };
        WarningList: {
            /** @description Soonest breach first. */
            items: components["schemas"]["Warning"][];
        };
        /** @description Per-dimension weights: each in [0, 1], summing to 1. */
        Weights: {
            /**
             * Format: double
             * @default 0.25
             */
            accuracy: number;
            /**
             * Format: double
             * @default 0.2
             */
            completeness: number;
            /**
             * Format: double
             * @default 0.2
             */
            consistency: number;
            /**
             * Format: double
             * @default 0.05
             */
            integrity: number;
            /**
             * Format: double
             * @default 0.15
             */
            timeliness: number;
            /**
             * Format: double
             * @default 0.1
             */
            uniqueness: number;
            /**
             * Format: double
             * @default 0.05
             */
            validity: number;
        };
        /** @description The seven dimension weights, each in [0, 1], summing to 1. */
        WeightsRequest: {
            /** Format: double */
            accuracy?: number | null;
            /** Format: double */
            completeness?: number | null;
            /** Format: double */
            consistency?: number | null;
            /** Format: double */
            integrity?: number | null;
            /** Format: double */
            timeliness?: number | null;
            /** Format: double */
            uniqueness?: number | null;
            /** Format: double */
            validity?: number | null;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    list_agents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AgentList"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    send_command: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Agent id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CommandRequest"];
            };
        };
        responses: {
            /** @description The agent's answer: `{ok, message}`, and for `fix` `fix: {dataset, check, fix, rows_affected, sql, applied, id, rows_changed}` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CommandReply"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_agent_config: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Agent id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/yaml": string;
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AgentConfigRevision"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_enrollment_token: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TokenRequest"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedEnrollmentToken"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    backtest_rules: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BacktestRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BacktestReport"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_anomalies: {
        parameters: {
            query?: {
                asset?: string;
                limit?: number;
                /** @description Only events without feedback. */
                open?: boolean;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AnomalyEventList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_anomaly: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Anomaly id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AnomalyEvent"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    anomaly_causes: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Anomaly id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CauseReport"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    post_feedback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Anomaly id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FeedbackBody"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AnomalyEvent"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_feedback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Anomaly id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AnomalyEvent"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    scan_now: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PassOutcome"];
                };
            };
        };
    };
    list_assets: {
        parameters: {
            query?: {
                /** @description 1 to 1000, default 100. */
                limit?: number;
                offset?: number;
                /** @description Part of `schema.name`, case-insensitive. */
                q?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Page_AssetSummary"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_asset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AssetDetail"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    asset_anomalies: {
        parameters: {
            query: {
                /** @description The column of a column-level metric. */
                column?: string;
                /**
                 * @description A metric name, e.g. `row_count`, `null_count` or `freshness_lag`, or `table_vector` for the
                 *     multivariate model over all of the table's metrics.
                 */
                metric: string;
            };
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JudgedSeries"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_bounds: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BoundsBody"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MetricBoundSet"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    asset_checks: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CheckList"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_check_dimension: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Check name */
                check: string;
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DimensionRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CheckDimension"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_contract: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AttachedContract"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_contract: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ContractDocument"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AttachedContract"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_contract: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    asset_forecast: {
        parameters: {
            query: {
                column?: string;
                /** @description Steps ahead, each one typical spacing of the history. */
                horizon?: number;
                /** @description Bounds to check instead of the stored ones. */
                lower?: number;
                metric: string;
                upper?: number;
            };
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AssetForecast"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    asset_metrics: {
        parameters: {
            query?: {
                column?: string;
                limit?: number;
                metric?: string;
                since?: string;
                until?: string;
            };
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MetricPointList"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    asset_score: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AssetScore"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_asset_score_weights: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WeightsRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Weights"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_asset_score_weights: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    score_history: {
        parameters: {
            query?: {
                /** @description RFC 3339; default 7 days ago. */
                since?: string;
            };
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScoreHistory"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_asset_tier: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Asset id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AssetTier"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AssetTier"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    audit_log: {
        parameters: {
            query?: {
                /** @description Part of the action, e.g. `POST /api/v1/tokens` or `login`. */
                action?: string;
                /** @description Exact actor, e.g. `user:ada@example.com`. */
                actor?: string;
                /** @description Records older than this id (the last id of the previous page). */
                before?: number;
                /** @description 1 to 1000, default 100. */
                limit?: number;
                since?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditRecordList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Me"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    refresh: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    sso_start: {
        parameters: {
            query?: {
                /** @description The connection's name; may be left out when the tenant has only one. */
                connection?: string;
                /** @description Console path to return to after sign-in (a path on this server), default `/`. */
                redirect_to?: string;
            };
            header?: never;
            path: {
                tenant: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description To the identity provider */
            303: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    sso_callback: {
        parameters: {
            query?: {
                code?: string;
                error?: string;
                error_description?: string;
                state?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description To the console, signed in */
            303: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_channels: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ChannelList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_channel: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewChannel"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Channel"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    test_channel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Channel id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TestDelivery"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_dead_letters: {
        parameters: {
            query?: {
                /** @description 1 to 1000, default 100. */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetterList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_digests: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DigestList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_digest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DigestInput"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Digest"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_digest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Digest id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_incidents: {
        parameters: {
            query?: {
                /** @description Only this asset's incidents. */
                asset?: string;
                /** @description 1 to 1,000; default 100. */
                limit?: number;
                /** @description `critical`, `high`, `medium` or `low`. */
                severity?: string;
                /** @description `open`, `acknowledged`, `snoozed`, `resolved`, `closed`, or `active` (the first three). */
                status?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IncidentList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_incident: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IncidentDetail"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    acknowledge_incident: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["IncidentNote"] | null;
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Incident"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    close_incident: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Close"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Incident"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    comment_incident: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Comment"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IncidentDetail"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    resolve_incident: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["IncidentNote"] | null;
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Incident"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    explain_routing: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoutingExplanation"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    snooze_incident: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Incident id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Snooze"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Incident"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_jobs: {
        parameters: {
            query?: {
                /** @description 1 to 1000, default 100. */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    record_openlineage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description An OpenLineage RunEvent */
        requestBody: {
            content: {
                "application/json": unknown;
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LineageRecorded"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    record_dbt: {
        parameters: {
            query?: {
                /** @description Namespace of the warehouse the models live in; default from the manifest's adapter. */
                namespace?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** @description dbt manifest.json */
        requestBody: {
            content: {
                "application/json": unknown;
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DbtLineageRecorded"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    downstream: {
        parameters: {
            query: {
                /** @description Read the graph as it was at this moment (RFC 3339); default now. */
                as_of?: string;
                column?: string;
                dataset: string;
                depth?: number;
                namespace: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LineageWalk"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    impact: {
        parameters: {
            query: {
                as_of?: string;
                dataset: string;
                namespace: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Impact"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    path: {
        parameters: {
            query: {
                as_of?: string;
                from_column?: string;
                from_dataset: string;
                namespace: string;
                to_column?: string;
                to_dataset: string;
                /** @description Namespace of the end, when it differs from the start's. */
                to_namespace?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LineagePath"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    record_sql: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SqlLineageRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SqlLineageRecorded"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    upstream: {
        parameters: {
            query: {
                /** @description Read the graph as it was at this moment (RFC 3339); default now. */
                as_of?: string;
                column?: string;
                dataset: string;
                depth?: number;
                namespace: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LineageWalk"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_members: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MemberList"];
                };
            };
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    add_member: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewMember"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    remove_member: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    change_member: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                user_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoleChange"];
            };
        };
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_notifications: {
        parameters: {
            query?: {
                /** @description 1 to 1,000; default 100. */
                limit?: number;
                /** @description `queued`, `sent` or `dead` (every attempt failed: re-send it). */
                state?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotificationList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    resend_notification: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Notification id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Notification"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_ownership: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OwnershipList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_ownership: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["OwnershipInput"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OwnershipEntry"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_ownership: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Ownership entry id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_roi: {
        parameters: {
            query?: {
                /** @description Whole days, e.g. `30d` (the default), 1 to 366. */
                period?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoiReport"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_rules: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoutingRuleList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_rule: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoutingRuleInput"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoutingRule"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    replace_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Routing rule id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoutingRuleInput"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoutingRule"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Routing rule id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    group_scores: {
        parameters: {
            query?: {
                /** @description `source`, `tag` (the tags of the asset's checks) or `tenant`; default `tenant`. */
                group_by?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GroupScores"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    get_roi_settings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoiSettingsView"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_roi_settings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoiSettings"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoiSettingsView"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    put_score_weights: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WeightsRequest"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Weights"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_slas: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SlaList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_sla: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateSla"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Sla"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    sla_compliance: {
        parameters: {
            query?: {
                /** @description `json` (the default) or `csv`. */
                format?: string;
                /** @description Such as `30d`, `12h`, `90m`; at most 366d. Default: the SLA's own window. */
                window?: string;
            };
            header?: never;
            path: {
                /** @description SLA id */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The SLA's compliance over the window: JSON, or CSV with `format=csv` or `Accept: text/csv` */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SlaCompliance"];
                    "text/csv": string;
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_sso: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoConnectionList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_sso: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewSsoConnection"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoConnectionInfo"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    delete_sso: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    list_tokens: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiTokenList"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    create_token: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewToken"];
            };
        };
        responses: {
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedToken"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    revoke_token: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    warnings: {
        parameters: {
            query?: {
                horizon?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WarningList"];
                };
            };
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
