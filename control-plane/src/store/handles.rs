//! The handles through which the REST API and the agents' gRPC API reach the database.
//!
//! Isolation by construction: the API holds an [`ApiStore`], which can give out only
//!
//! - a [`TenantStore`] for one tenant, whose every unit of work is a transaction as the role
//!   `cwic_api` with `cwic.tenant` set, so PostgreSQL row-level security confines each read and
//!   write to that tenant whatever the SQL says, and
//! - the [`IdentityStore`], the few lookups that must cross tenants to find out who is calling
//!   (login by e-mail address, API/refresh/agent token hashes, the SSO state, the audit trail
//!   of a caller not yet known). It reads no tenant data beyond those.
//!
//! Neither hands out the owner pool, and [`ApiStore`] cannot be turned into a [`Store`]: only
//! ingest, migrations, background jobs and the command line get the owner [`Store`] (from
//! [`Store::connect`]). Must not hold SQL of its own beyond opening the scoped transaction.

use cwic_shared::TenantId;
use sqlx::PgPool;

use super::{Store, StoreResult};

/// A transaction confined to one tenant by row-level security (see [`TenantStore::begin`]).
pub type Scoped = sqlx::Transaction<'static, sqlx::Postgres>;

/// The store as the API and the agents' gRPC API see it. Cheap to clone.
#[derive(Clone)]
pub struct ApiStore {
    api: PgPool,
    identity: IdentityStore,
}

impl ApiStore {
    /// The handle for `tenant`'s data; the tenant comes from the authenticated caller.
    pub fn tenant(&self, tenant: &TenantId) -> TenantStore {
        TenantStore {
            api: self.api.clone(),
            tenant: tenant.clone(),
        }
    }

    /// The cross-tenant sign-in lookups.
    pub fn identity(&self) -> &IdentityStore {
        &self.identity
    }

    /// Whether the database answers on the API's pool (readiness).
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.api).await?;
        Ok(())
    }
}

/// One tenant's data. Every method runs in its own transaction as `cwic_api` with the tenant
/// set (row-level security); [`TenantStore::begin`] opens one for several statements.
#[derive(Clone)]
pub struct TenantStore {
    api: PgPool,
    tenant: TenantId,
}

impl TenantStore {
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant
    }

    /// A unit of work for this tenant: a transaction in which tables with a `tenant_wall` policy
    /// show and accept only this tenant's rows. The role is set for the transaction itself (not
    /// only by the pool), so the wall holds whichever pool the store was made with.
    pub async fn begin(&self) -> StoreResult<Scoped> {
        let mut tx = self.api.begin().await?;
        sqlx::query("SELECT set_config('role', 'cwic_api', true), set_config('cwic.tenant', $1, true)")
            .bind(self.tenant.as_str())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// The sign-in and identity lookups that must cross tenants, on the owner pool. Each method finds
/// who a caller is (or records what they tried); none lists or changes a tenant's data.
#[derive(Clone)]
pub struct IdentityStore {
    pub(super) pool: PgPool,
}

impl Store {
    /// The handle the API and gRPC API get (see the module documentation).
    pub fn api(&self) -> ApiStore {
        ApiStore {
            api: self.api.clone(),
            identity: self.identity(),
        }
    }

    /// `tenant`'s data under row-level security, for owner-side code that works for one tenant.
    pub fn tenant(&self, tenant: &TenantId) -> TenantStore {
        TenantStore {
            api: self.api.clone(),
            tenant: tenant.clone(),
        }
    }

    pub fn identity(&self) -> IdentityStore {
        IdentityStore {
            pool: self.pool.clone(),
        }
    }

    /// A transaction that row-level security confines to `tenant` ([`TenantStore::begin`]).
    pub async fn scoped(&self, tenant: &TenantId) -> StoreResult<Scoped> {
        self.tenant(tenant).begin().await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    /// The API and the gRPC API get an [`super::ApiStore`] from `app.rs`; neither may name the
    /// owner store (or make one), which would put the owner pool back in their reach.
    #[test]
    fn the_apis_never_name_the_owner_store() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<_> = std::fs::read_dir(root.join("api"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.push(root.join("grpc/mod.rs"));
        assert!(files.len() > 5, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for word in [
                "store::Store",
                "Store::connect",
                "Store::from_pool",
                "{Store",
                " Store",
            ] {
                // The word itself, not a longer name that starts with it (`StoreError`).
                let named = text.match_indices(word).any(|(at, _)| {
                    !text[at + word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                assert!(!named, "{} names the owner store (`{word}`)", file.display());
            }
        }
    }
}
