//! The contract capability, called by REST and by the agents' gRPC `GetConfig`.

use std::path::Path;

use chrono::{DateTime, Utc};
use cwic_shared::AgentId;
use cwic_shared::contract::{self, Diagnostic, Flavor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::store::TenantStore;
use crate::store::contracts::{NewContract, StoredContract};
use crate::store::slas::NewSla;

/// The largest contract document accepted.
pub const MAX_CONTRACT_BYTES: usize = 256 * 1024;

/// The name diagnostics give the document (`document:12:5: key: message`).
const DOCUMENT: &str = "document";

/// A contract to attach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractDocument {
    /// The contract as YAML text: Open Data Contract Standard v3 (`apiVersion: v3.x`) or the
    /// datacontract.com specification (`dataContractSpecification: …`).
    pub document: String,
    /// The contract's dataset (ODCS schema object, datacontract.com model) that describes this
    /// asset; needed only when the contract has several and none is named like the asset.
    #[serde(default)]
    pub dataset: Option<String>,
}

/// A contract attached to an asset, as the control plane reads it, with its latest evaluation.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachedContract {
    pub asset_id: Uuid,
    /// `source.schema.name` of the asset.
    pub asset: String,
    pub contract_id: String,
    pub version: String,
    /// `odcs` or `data_contract_specification`.
    pub flavor: String,
    /// The contract's dataset that describes the asset.
    pub dataset: String,
    pub columns: Vec<ContractColumn>,
    /// The quality rules as the checks they run as.
    pub rules: Vec<ContractRule>,
    pub service_levels: Vec<ContractServiceLevel>,
    /// The SLA its service levels state (freshness, availability), replaced when the contract is
    /// attached again and removed when it is detached; `None` when it states neither.
    pub sla_id: Option<Uuid>,
    /// Parts of the contract with no CWIC equivalent (they are not run), at their line.
    pub warnings: Vec<ContractDiagnostic>,
    pub attached_at: DateTime<Utc>,
    pub attached_by: String,
    pub status: ContractStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractColumn {
    pub name: String,
    pub logical_type: Option<String>,
    pub physical_type: Option<String>,
    pub required: bool,
    pub unique: bool,
    pub primary_key: bool,
    pub line: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractRule {
    /// The check template the rule runs as.
    pub template: String,
    pub column: Option<String>,
    pub severity: String,
    /// What the contract said, e.g. `nullValues mustBe 0`.
    pub source: String,
    pub line: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractServiceLevel {
    /// freshness, latency, retention, availability, frequency, or the contract's own name.
    pub kind: String,
    pub threshold_seconds: Option<f64>,
    pub percentage: Option<f64>,
    pub element: Option<String>,
    pub line: usize,
    /// The objective of the contract's SLA it became (`freshness_bound_minutes`,
    /// `min_availability`), or `None` with `note` saying why not.
    pub objective: Option<String>,
    pub note: Option<String>,
}

/// A problem of a contract document at `line:column` of its `key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractDiagnostic {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: String,
    pub message: String,
}

/// Whether the asset met its contract at its latest collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractStatus {
    /// `not_evaluated` (no collection since it was attached), `met`, `violated` (a check fails) or
    /// `error` (a check could not run).
    pub state: String,
    /// One sentence for people, e.g. "violated: 1 of 12 checks fails (required(email))".
    pub message: String,
    /// When the latest of its checks ran.
    pub evaluated_at: Option<DateTime<Utc>>,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    /// The latest result of each check, failing first.
    pub checks: Vec<ContractCheck>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractCheck {
    pub name: String,
    pub template: String,
    pub severity: String,
    /// `pass`, `fail` or `error`.
    pub status: String,
    pub failing_rows: Option<i64>,
    pub total_rows: Option<i64>,
    pub message: String,
    pub observed_at: DateTime<Utc>,
}

fn diagnostic(d: &Diagnostic) -> ContractDiagnostic {
    ContractDiagnostic {
        line: d.line,
        column: d.column,
        key: d.key.clone(),
        message: d.message.clone(),
    }
}

/// Reads `document`; a contract that cannot be run is a 400 whose message is its first error
/// (`document:line:column: key: what was expected`) and whose details list every error.
fn read(document: &str) -> ServiceResult<(contract::Contract, Vec<ContractDiagnostic>)> {
    if document.len() > MAX_CONTRACT_BYTES {
        return Err(ServiceError::bad_field(
            DOCUMENT,
            format!("the contract is larger than {MAX_CONTRACT_BYTES} bytes"),
        ));
    }
    let parsed = contract::parse(Path::new(DOCUMENT), document);
    let errors: Vec<&Diagnostic> = parsed.errors().collect();
    if let Some(first) = errors.first() {
        let listed: Vec<ContractDiagnostic> = errors.iter().map(|d| diagnostic(d)).collect();
        return Err(ServiceError::bad_request(
            first.to_string(),
            json!({"field": DOCUMENT, "errors": listed}),
        ));
    }
    let warnings = parsed.warnings().map(diagnostic).collect();
    let Some(contract) = parsed.contract else {
        return Err(ServiceError::bad_field(DOCUMENT, "not a data contract"));
    };
    if contract.id.trim().is_empty() {
        return Err(ServiceError::bad_field(
            DOCUMENT,
            "the contract has no `id`: its results are told apart by it",
        ));
    }
    Ok((contract, warnings))
}

/// The contract dataset describing `schema.name`: the one asked for, the only one, or the one
/// named like the asset (`name` or `schema.name`, any case).
fn choose_dataset<'c>(
    contract: &'c contract::Contract,
    asked: Option<&str>,
    schema: &str,
    name: &str,
) -> ServiceResult<&'c contract::Dataset> {
    let names: Vec<&str> = contract.datasets.iter().map(|d| d.name.as_str()).collect();
    if let Some(asked) = asked {
        return contract.datasets.iter().find(|d| d.name == asked).ok_or_else(|| {
            ServiceError::bad_field(
                "dataset",
                format!("the contract has no dataset {asked:?}; it has {names:?}"),
            )
        });
    }
    if let [only] = contract.datasets.as_slice() {
        return Ok(only);
    }
    let qualified = format!("{schema}.{name}");
    contract
        .datasets
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name) || d.name.eq_ignore_ascii_case(&qualified))
        .ok_or_else(|| {
            ServiceError::bad_field(
                "dataset",
                if names.is_empty() {
                    "the contract describes no dataset (ODCS `schema`, datacontract.com `models`)".to_owned()
                } else {
                    format!(
                        "the contract describes {names:?}, none named like {qualified}: say which with `dataset`"
                    )
                },
            )
        })
}

/// The objective a service level becomes, with its value; `Err` says why it becomes none.
fn objective(level: &contract::ServiceLevel) -> Result<(&'static str, f64), String> {
    match (level.kind.as_str(), level.threshold_seconds, level.percentage) {
        ("freshness", Some(seconds), _) if seconds > 0.0 => {
            Ok(("freshness_bound_minutes", (seconds / 60.0).ceil().max(1.0)))
        }
        ("availability", _, Some(percentage)) if percentage > 0.0 => {
            // Rounded so 99.9% reads 0.999, not 0.9990000000000001.
            Ok(("min_availability", (percentage * 1e4).round() / 1e6))
        }
        ("freshness", ..) => Err("a freshness level needs a threshold to become an SLA".into()),
        ("availability", ..) => Err("an availability level needs a percentage to become an SLA".into()),
        (kind, ..) => Err(format!(
            "shown, not evaluated: CWIC SLAs have no {kind} objective"
        )),
    }
}

/// The SLA a contract's service levels state on `asset`: freshness and availability objectives,
/// the SLA defaults otherwise (target 0.99 over 30 days).
fn contract_sla(contract: &contract::Contract, asset: Uuid, by: &str) -> Option<NewSla> {
    let mut freshness = None;
    let mut availability = None;
    for level in &contract.service_levels {
        match objective(level) {
            Ok(("freshness_bound_minutes", minutes)) => {
                freshness = Some(minutes.min(f64::from(i32::MAX)) as i32)
            }
            Ok((_, share)) => availability = Some(share),
            Err(_) => {}
        }
    }
    if freshness.is_none() && availability.is_none() {
        return None;
    }
    Some(NewSla {
        name: format!("contract {}", contract.id),
        asset_id: Some(asset),
        tag: None,
        target: 0.99,
        window_minutes: 30 * 24 * 60,
        freshness_bound_minutes: freshness,
        min_score: None,
        max_open_critical: None,
        min_availability: availability,
        ack_within_minutes: None,
        resolve_within_minutes: None,
        created_by: by.to_owned(),
        contract_id: Some(contract.id.clone()),
    })
}

/// Attaches a contract to `asset` (replacing the one it had). Its agent runs it from its next
/// collection on.
pub async fn attach(
    store: &TenantStore,
    asset: Uuid,
    body: &ContractDocument,
    by: &str,
) -> ServiceResult<AttachedContract> {
    let (contract, _) = read(&body.document)?;
    let detail = store
        .get_asset(asset)
        .await?
        .ok_or_else(|| ServiceError::not_found("asset"))?;
    let summary = &detail.summary;
    let dataset = choose_dataset(
        &contract,
        body.dataset.as_deref(),
        &summary.schema_name,
        &summary.name,
    )?;
    let stored = store
        .attach_contract(
            asset,
            &NewContract {
                contract_id: &contract.id,
                version: &contract.version,
                dataset: &dataset.name,
                document: &body.document,
                by,
            },
            contract_sla(&contract, asset, by).as_ref(),
        )
        .await?
        .ok_or_else(|| ServiceError::not_found("asset"))?;
    view(store, stored).await
}

/// The contract attached to `asset` and whether the asset met it at its latest collection.
pub async fn get(store: &TenantStore, asset: Uuid) -> ServiceResult<AttachedContract> {
    let stored = store.attached_contract(asset).await?.ok_or_else(|| {
        ServiceError::new(
            crate::error::ErrorCode::NotFound,
            "no contract is attached to this asset (or the asset does not exist): attach one with \
             PUT /api/v1/assets/{id}/contract",
        )
    })?;
    view(store, stored).await
}

/// Detaches the contract of `asset` (and removes the SLA made from it): its agent stops running it
/// at its next collection.
pub async fn detach(store: &TenantStore, asset: Uuid) -> ServiceResult<()> {
    if store.detach_contract(asset).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("contract"))
    }
}

/// The contracts `agent` runs: those attached to the assets it collects.
pub async fn for_agent(store: &TenantStore, agent: &AgentId) -> ServiceResult<Vec<StoredContract>> {
    Ok(store.contracts_for_agent(agent).await?)
}

/// The tag an agent gives the results of a contract's checks.
pub fn result_tag(contract_id: &str) -> String {
    format!("contract:{contract_id}")
}

async fn view(store: &TenantStore, stored: StoredContract) -> ServiceResult<AttachedContract> {
    let (contract, warnings) = read(&stored.document)?;
    let dataset = contract
        .datasets
        .iter()
        .find(|d| d.name == stored.dataset)
        .ok_or_else(|| ServiceError::internal("stored contract", "its dataset is gone from its document"))?;
    let rows = store
        .latest_tagged_results(
            stored.asset_id,
            &result_tag(&stored.contract_id),
            stored.attached_at,
        )
        .await?;
    let mut checks: Vec<ContractCheck> = rows
        .into_iter()
        .map(|row| ContractCheck {
            name: row.check_name,
            template: row.template,
            severity: row.severity,
            status: row.status,
            failing_rows: row.failing_rows,
            total_rows: row.total_rows,
            message: row.message,
            observed_at: row.observed_at,
        })
        .collect();
    let rank = |status: &str| match status {
        "fail" => 0,
        "error" => 1,
        _ => 2,
    };
    checks.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then_with(|| a.name.cmp(&b.name))
    });
    let status = status(checks, &stored);
    Ok(AttachedContract {
        asset_id: stored.asset_id,
        asset: format!(
            "{}.{}.{}",
            stored.source_name, stored.schema_name, stored.asset_name
        ),
        contract_id: stored.contract_id,
        version: stored.version,
        flavor: match contract.flavor {
            Flavor::Odcs => "odcs",
            Flavor::DataContractSpecification => "data_contract_specification",
        }
        .to_owned(),
        dataset: dataset.name.clone(),
        columns: dataset
            .columns
            .iter()
            .map(|c| ContractColumn {
                name: c.name.clone(),
                logical_type: c.logical_type.clone(),
                physical_type: c.physical_type.clone(),
                required: c.required,
                unique: c.unique,
                primary_key: c.primary_key,
                line: c.line,
            })
            .collect(),
        rules: dataset
            .rules
            .iter()
            .map(|r| ContractRule {
                template: r.template.to_owned(),
                column: r.column.clone(),
                severity: r.severity.to_owned(),
                source: r.source.clone(),
                line: r.line,
            })
            .collect(),
        service_levels: contract
            .service_levels
            .iter()
            .map(|s| {
                let objective = objective(s);
                ContractServiceLevel {
                    kind: s.kind.clone(),
                    threshold_seconds: s.threshold_seconds,
                    percentage: s.percentage,
                    element: s.element.clone(),
                    line: s.line,
                    objective: objective.as_ref().ok().map(|(name, _)| (*name).to_owned()),
                    note: objective.err(),
                }
            })
            .collect(),
        sla_id: stored.sla_id,
        warnings,
        attached_at: stored.attached_at,
        attached_by: stored.attached_by,
        status,
    })
}

fn status(checks: Vec<ContractCheck>, stored: &StoredContract) -> ContractStatus {
    let count = |status: &str| checks.iter().filter(|c| c.status == status).count();
    let (passed, failed, errored) = (count("pass"), count("fail"), count("error"));
    let evaluated_at = checks.iter().map(|c| c.observed_at).max();
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| c.status != "pass")
        .map(|c| c.name.as_str())
        .take(5)
        .collect();
    let total = checks.len();
    let (state, message) = if total == 0 {
        (
            "not_evaluated",
            format!(
                "not evaluated yet: the agent collecting {} runs it at its next collection",
                stored.asset_name
            ),
        )
    } else if failed > 0 {
        (
            "violated",
            format!(
                "violated: {failed} of {total} checks fail{} ({})",
                if failed == 1 { "s" } else { "" },
                failing.join(", ")
            ),
        )
    } else if errored > 0 {
        (
            "error",
            format!(
                "{errored} of {total} checks could not run ({})",
                failing.join(", ")
            ),
        )
    } else {
        ("met", format!("met: all {total} checks pass"))
    };
    ContractStatus {
        state: state.to_owned(),
        message,
        evaluated_at,
        passed,
        failed,
        errored,
        checks,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ORDERS: &str = include_str!("../../../tests/data/contracts/orders-latest.datacontract.yaml");

    #[test]
    fn a_broken_document_is_refused_at_its_line_with_every_error_listed() {
        let document = "apiVersion: v3.0.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n\
                        schema:\n  - name: t\n    properties: 3\n    quality: 4\n";
        let error = read(document).unwrap_err();
        assert_eq!(
            error.message, "document:8:17: schema[0].properties: expected a list, found `3`",
            "{}",
            error.details
        );
        assert_eq!(error.details["field"], "document");
        let lines: Vec<u64> = error.details["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["line"].as_u64())
            .collect();
        assert_eq!(lines, [8, 9], "every error, at its line: {}", error.details);
    }

    #[test]
    fn freshness_and_availability_levels_become_one_sla_and_the_rest_say_why_not() {
        let (contract, _) = read(ORDERS).unwrap();
        let asset = Uuid::nil();
        let sla = contract_sla(&contract, asset, "ada").unwrap();
        assert_eq!(sla.freshness_bound_minutes, Some(25 * 60), "threshold: 25h");
        assert_eq!(sla.min_availability, Some(0.999), "percentage: 99.9%");
        assert_eq!(
            sla.contract_id.as_deref(),
            Some("urn:datacontract:checkout:orders-latest")
        );
        let retention = contract
            .service_levels
            .iter()
            .find(|l| l.kind == "retention")
            .unwrap();
        assert!(
            objective(retention)
                .unwrap_err()
                .contains("no retention objective")
        );
    }

    #[test]
    fn the_dataset_is_the_only_one_the_named_one_or_the_asked_one() {
        let (contract, _) = read(ORDERS).unwrap();
        assert!(contract.datasets.len() > 1);
        let first = &contract.datasets[0].name;
        assert_eq!(
            &choose_dataset(&contract, None, "public", first).unwrap().name,
            first
        );
        assert_eq!(
            &choose_dataset(&contract, None, "x", &first.to_uppercase())
                .unwrap()
                .name,
            first,
            "names match in any case"
        );
        let second = &contract.datasets[1].name;
        assert_eq!(
            &choose_dataset(&contract, Some(second), "public", first)
                .unwrap()
                .name,
            second
        );
        let error = choose_dataset(&contract, None, "public", "customers").unwrap_err();
        assert_eq!(error.details["field"], "dataset");
        assert!(error.message.contains("say which"), "{}", error.message);
    }
}
