//! Check results on the agent's `run` path: the source's check suite runs on every collection and
//! each result joins its asset as a wire `CheckResult`, so results reach the control plane with the
//! metrics (and feed scoring there).
//!
//! Owns the conversion to the wire. Must not ship samples: failing rows stay on the agent.

use cwic_proto::agent::v1::{AssetObservation, CheckResult as WireResult};
use tracing::warn;

use super::exec::CheckExecutor;
use super::model::CheckSuite;
use super::run::{CheckResult, ScanOptions, scan};

/// Runs `suite` and attaches every result to the asset its dataset names (`schema.table`, or
/// `table` alone). Results of datasets that were not collected are logged and dropped: the asset
/// they belong to is outside the source's include/exclude selection.
pub async fn run_and_attach(
    state_dir: &std::path::Path,
    source_name: &str,
    executor: &dyn CheckExecutor,
    suite: &CheckSuite,
    assets: &mut [AssetObservation],
) {
    let options = ScanOptions {
        baselines: Some(state_dir.join(format!("{source_name}.drift.json"))),
        ..ScanOptions::default()
    };
    let report = scan(executor, suite, &options).await;
    for result in report.results {
        let columns = suite
            .datasets
            .iter()
            .filter(|dataset| dataset.dataset == result.dataset)
            .flat_map(|dataset| &dataset.checks)
            .find(|check| check.name == result.check)
            .map(|check| check.params.columns(check.template))
            .unwrap_or_default();
        let asset = assets.iter_mut().find(|asset| {
            result.dataset == format!("{}.{}", asset.schema, asset.name)
                || (!result.dataset.contains('.') && result.dataset == asset.name)
        });
        match asset {
            Some(asset) => asset.checks.push(to_wire(result, columns)),
            None => warn!(
                dataset = %result.dataset,
                check = %result.check,
                "check result dropped: its dataset is not among the collected tables"
            ),
        }
    }
}

fn to_wire(result: CheckResult, columns: Vec<String>) -> WireResult {
    WireResult {
        name: result.check,
        template: result.template.to_owned(),
        dimension: result.dimension.as_str().to_owned(),
        severity: result.severity.as_str().to_owned(),
        status: result.status.as_str().to_owned(),
        columns,
        failing_rows: result.failing_rows,
        total_rows: result.total_rows,
        value: result.value.unwrap_or_default(),
        message: result.message,
        owner: result.owner.unwrap_or_default(),
        tags: result.tags,
    }
}
