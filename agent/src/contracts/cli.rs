//! `cwic-agent contract lint|test|diff`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::model::{self, Parsed};
use super::{diff, translate};
use crate::checks::cli::drift_baselines_file;
use crate::checks::report;
use crate::checks::run::{ScanOptions, Status, scan};

/// Exit code for a violated contract, lint errors, or breaking changes.
const EXIT_FAILED: u8 = 1;
/// Exit code for input the agent cannot use (unreadable or invalid contract, unreachable source).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Subcommand)]
pub enum ContractCommand {
    /// Check a contract file (ODCS v3 or datacontract.com) without touching data.
    ///
    /// Prints each problem as `file:line:column: key: what was expected`. Rules without a CWIC
    /// check are warnings (`not translated: …`). Exits 1 on errors, 0 when clean (warnings allowed).
    Lint {
        /// The contract file (YAML).
        file: PathBuf,
        /// `text` prints the problems; `json` also prints the translated check file and the SLA
        /// descriptors.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run a contract against a real source: schema conformance (columns, types, required, unique,
    /// primary key) and its quality rules, through the check runner.
    ///
    /// Exits 1 when the contract is violated (any check fails or cannot run), 0 when it is met, 2
    /// when the contract or the source cannot be used. Service levels are printed as SLA
    /// descriptors in the JSON output, not evaluated.
    Test(TestArgs),
    /// List the changes between two versions of a contract, breaking ones first.
    ///
    /// Breaking: dropped tables or columns, retyped columns, columns made required/unique/primary
    /// key, new required columns, new or tightened rules and thresholds, removed or loosened
    /// service levels. Exits 1 when there is a breaking change, 0 otherwise.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Args)]
pub struct TestArgs {
    /// The contract file (YAML).
    file: PathBuf,
    /// The source: postgres://…, mysql://…, sqlite://path or a file URL the source registry opens.
    #[arg(long, env = "CWIC_SOURCE_URL")]
    source: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also write the results as JUnit XML here (one test case per check), as `scan` does.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Statements run at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Where drift state would be kept (contracts translate to no drift checks; kept for parity).
    #[arg(long, env = "CWIC_STATE_DIR", default_value = "cwic-agent-state")]
    state_dir: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub async fn run(command: ContractCommand) -> anyhow::Result<ExitCode> {
    match command {
        ContractCommand::Lint { file, format } => Ok(lint(&file, format)),
        ContractCommand::Test(args) => test(args).await,
        ContractCommand::Diff { old, new, format } => Ok(run_diff(&old, &new, format)),
    }
}

fn print_diagnostics(parsed: &Parsed) {
    for diagnostic in parsed.errors() {
        eprintln!("error: {diagnostic}");
    }
    for diagnostic in parsed.warnings() {
        eprintln!("warning: {diagnostic}");
    }
}

fn lint(file: &std::path::Path, format: Format) -> ExitCode {
    let parsed = model::load(file);
    print_diagnostics(&parsed);
    let errors = parsed.errors().count();
    let mut translated = None;
    if let Some(contract) = &parsed.contract {
        match translate::suite(file, contract, None) {
            Ok(suite) => translated = Some(suite),
            Err(error) => {
                eprintln!("error: the contract does not translate to valid checks: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
        }
    }
    let checks = translated.as_ref().map_or(0, |suite| {
        suite.datasets.iter().map(|d| d.checks.len()).sum::<usize>()
    });
    match (format, &parsed.contract) {
        (Format::Json, Some(contract)) => {
            let body = json!({
                "contract": contract.id,
                "flavor": contract.flavor,
                "errors": parsed.errors().collect::<Vec<_>>(),
                "warnings": parsed.warnings().collect::<Vec<_>>(),
                "check_file": translate::check_file(contract, None),
                "sla": translate::service_levels(file, contract),
            });
            println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        }
        (Format::Json, None) => {
            let body = json!({ "errors": parsed.errors().collect::<Vec<_>>(),
                "warnings": parsed.warnings().collect::<Vec<_>>() });
            println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        }
        (Format::Text, Some(contract)) => println!(
            "{}: ok: {} tables, {checks} checks, {} service levels, {} warnings",
            file.display(),
            contract.datasets.len(),
            contract.service_levels.len(),
            parsed.warnings().count()
        ),
        (Format::Text, None) => println!("{}: {errors} errors", file.display()),
    }
    if errors > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let parsed = model::load(&args.file);
    print_diagnostics(&parsed);
    let Some(contract) = parsed.contract else {
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    };
    let source = match crate::source::open(&args.source).await {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let suite = match translate::suite(&args.file, &contract, Some(source.engine().name)) {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("error: the contract does not translate to valid checks: {error}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let executor = match source.checks() {
        Ok(executor) => executor,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let options = ScanOptions {
        samples: 0,
        unmasked_samples: false,
        concurrency: args.concurrency,
        stream: true,
        baselines: Some(drift_baselines_file(&args.state_dir, &args.source)),
    };
    let report = scan(executor, &suite, &options).await;
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&report))?;
    }
    let violated = report.results.iter().filter(|r| r.status != Status::Pass).count();
    match args.format {
        Format::Text => {
            print!("{}", report::table(&report));
            if violated == 0 {
                println!(
                    "contract {} met: {} checks passed",
                    contract.id,
                    report.results.len()
                );
            } else {
                println!(
                    "contract {} violated: {violated} of {} checks did not pass",
                    contract.id,
                    report.results.len()
                );
            }
        }
        Format::Json => {
            let results: serde_json::Value = serde_json::from_str(&report::json(&report)).unwrap_or_default();
            let body = json!({
                "contract": contract.id,
                "version": contract.version,
                "met": violated == 0,
                "violations": violated,
                "scan": results,
                "sla": translate::service_levels(&args.file, &contract),
            });
            println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        }
    }
    Ok(if violated > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_diff(old: &std::path::Path, new: &std::path::Path, format: Format) -> ExitCode {
    let (old_parsed, new_parsed) = (model::load(old), model::load(new));
    print_diagnostics(&old_parsed);
    print_diagnostics(&new_parsed);
    let (Some(old_contract), Some(new_contract)) = (&old_parsed.contract, &new_parsed.contract) else {
        return ExitCode::from(EXIT_BAD_INPUT);
    };
    let mut changes = diff::diff(old_contract, new_contract);
    changes.sort_by_key(|c| !c.breaking);
    let breaking = changes.iter().filter(|c| c.breaking).count();
    match format {
        Format::Json => {
            let body = json!({ "breaking": breaking, "changes": changes });
            println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        }
        Format::Text => {
            for change in &changes {
                let kind = if change.breaking {
                    "breaking"
                } else {
                    "non-breaking"
                };
                println!("{kind}: {}: {}", change.path, change.message);
            }
            println!(
                "{breaking} breaking, {} non-breaking changes",
                changes.len() - breaking
            );
        }
    }
    if breaking > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
