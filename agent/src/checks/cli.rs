//! `cwic-agent checks …` and `cwic-agent scan`: the command-line side of checks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::model::{CheckSuite, Severity};
use super::run::{ScanOptions, Status, scan};
use super::templates::TEMPLATES;
use super::{fix, import, report, schema};

/// Exit code when a check at or above `--fail-on` failed or could not run.
const EXIT_CHECKS_FAILED: u8 = 1;
/// Exit code for input the agent cannot use (bad check file, unreachable source).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Subcommand)]
pub enum ChecksCommand {
    /// List every check template with its dimension, parameters and an example.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Print the JSON Schema of the check-file format (the content of schemas/checks.schema.json).
    Schema,
    /// Translate dbt tests or a Great Expectations suite into a check file (stdout or --output).
    ///
    /// Tests and expectations without an equivalent are listed on stderr and as comments at the
    /// top of the file, never dropped silently.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// A dbt schema.yml (models and sources with their tests).
    #[arg(
        long,
        conflicts_with = "great_expectations",
        required_unless_present = "great_expectations"
    )]
    dbt: Option<PathBuf>,
    /// A Great Expectations suite in JSON.
    #[arg(long)]
    great_expectations: Option<PathBuf>,
    /// The dataset (schema.table) a Great Expectations suite checks; default the suite's file name.
    #[arg(long)]
    dataset: Option<String>,
    /// Write the check file here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScanFormat {
    Table,
    Json,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

impl From<SeverityArg> for Severity {
    fn from(value: SeverityArg) -> Self {
        match value {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }
    }
}

#[derive(Args)]
pub struct ScanArgs {
    /// The database: postgres://user:password@host/db or sqlite://path/to/file.db.
    #[arg(long, env = "CWIC_SOURCE_URL")]
    source: String,
    /// A check file, or a folder whose *.yml / *.yaml files are all read.
    #[arg(long)]
    checks: PathBuf,
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    format: ScanFormat,
    /// Exit 1 when a check of this severity or higher fails or cannot run.
    #[arg(long, value_enum, default_value_t = SeverityArg::High)]
    fail_on: SeverityArg,
    /// Fetch up to this many failing rows per failed row check (masked; they never leave the agent).
    #[arg(long, default_value_t = 0)]
    samples: usize,
    /// Show sample values as they are instead of masked.
    #[arg(long)]
    unmasked_samples: bool,
    /// Statements run at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Judge every check in SQL, without the streamed pass (PostgreSQL streams the table once and
    /// judges what it can in the agent; the results are the same).
    #[arg(long)]
    no_stream: bool,
    /// Where `distribution_drift` checks remember the previous run's histograms (one file per
    /// source); read and written only when the checks include one.
    #[arg(long, env = "CWIC_STATE_DIR", default_value = "cwic-agent-state")]
    state_dir: PathBuf,
}

pub fn run_checks_command(command: ChecksCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChecksCommand::List { format } => {
            print!("{}", list(format));
            Ok(ExitCode::SUCCESS)
        }
        ChecksCommand::Schema => {
            print!("{}", schema::json_schema_text());
            Ok(ExitCode::SUCCESS)
        }
        ChecksCommand::Import(args) => run_import(args),
    }
}

fn run_import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let (path, result) = match (&args.dbt, &args.great_expectations) {
        (Some(path), _) => (
            path,
            std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| import::dbt(&t)),
        ),
        (None, Some(path)) => {
            let dataset = args.dataset.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|stem| stem.to_string_lossy().replace(['-', ' '], "_"))
                    .unwrap_or_default()
            });
            let result = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| import::great_expectations(&text, &dataset));
            (path, result)
        }
        (None, None) => anyhow::bail!("expected --dbt or --great-expectations"),
    };
    let imported = match result {
        Ok(imported) => imported,
        Err(error) => {
            eprintln!("error: {}: {error}", path.display());
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let source = path.display().to_string();
    if let Err(error) = import::verify(&imported, &source) {
        eprintln!(
            "error: {}: the translation is not a valid check file: {error}",
            path.display()
        );
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let yaml = imported.to_yaml(&source);
    match &args.output {
        Some(output) => std::fs::write(output, &yaml)?,
        None => print!("{yaml}"),
    }
    for item in &imported.untranslated {
        eprintln!("not translated: {item}");
    }
    eprintln!(
        "{}: {} checks translated, {} not translated",
        path.display(),
        imported.check_count(),
        imported.untranslated.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn list(format: ListFormat) -> String {
    match format {
        ListFormat::Json => {
            let templates: Vec<serde_json::Value> = TEMPLATES
                .iter()
                .map(|template| {
                    serde_json::json!({
                        "name": template.name,
                        "dimension": template.dimension,
                        "kind": template.kind.as_str(),
                        "summary": template.summary,
                        "params": template.params.iter().map(|param| serde_json::json!({
                            "name": param.name,
                            "required": param.required,
                            "expected": param.kind.expected(),
                            "doc": param.doc,
                        })).collect::<Vec<_>>(),
                        "example": template.example,
                        "fix": template.fix.is_some(),
                    })
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&templates).unwrap_or_default();
            text.push('\n');
            text
        }
        ListFormat::Table => {
            let mut out = String::new();
            let width = TEMPLATES.iter().map(|t| t.name.len()).max().unwrap_or(0);
            out.push_str(&format!(
                "{:<width$}  {:<12}  {:<6}  {:<40}  example\n",
                "template", "dimension", "kind", "params"
            ));
            for template in TEMPLATES {
                let params: Vec<String> = template
                    .params
                    .iter()
                    .map(|p| {
                        if p.required {
                            p.name.to_owned()
                        } else {
                            format!("[{}]", p.name)
                        }
                    })
                    .collect();
                out.push_str(&format!(
                    "{:<width$}  {:<12}  {:<6}  {:<40}  {}\n",
                    template.name,
                    template.dimension.as_str(),
                    template.kind.as_str(),
                    params.join(", "),
                    template.example.replace('\n', "; ")
                ));
            }
            out.push_str(&format!("{} templates\n", TEMPLATES.len()));
            out
        }
    }
}

/// The drift checks' file of one source under `state_dir`, named by a hash of the source URL (its
/// password is not in the name, and two sources never share a file).
pub fn drift_baselines_file(state_dir: &std::path::Path, source: &str) -> PathBuf {
    let hash = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
    state_dir.join(format!("drift-{hash:016x}.json"))
}

pub async fn run_scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let suite = match CheckSuite::load(&args.checks) {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let source = match crate::source::open(&args.source).await {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
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
        samples: args.samples,
        unmasked_samples: args.unmasked_samples,
        concurrency: args.concurrency,
        stream: !args.no_stream,
        baselines: Some(drift_baselines_file(&args.state_dir, &args.source)),
    };
    let report = scan(executor, &suite, &options).await;
    let text = match args.format {
        ScanFormat::Table => report::table(&report),
        ScanFormat::Json => {
            let mut text = report::json(&report);
            text.push('\n');
            text
        }
        ScanFormat::Junit => report::junit(&report),
    };
    print!("{text}");
    let threshold = Severity::from(args.fail_on);
    let failed = report
        .results
        .iter()
        .any(|result| result.status != Status::Pass && result.severity >= threshold);
    Ok(if failed {
        ExitCode::from(EXIT_CHECKS_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Args)]
pub struct FixArgs {
    /// The database: postgres://… or sqlite://path.
    #[arg(long, env = "CWIC_SOURCE_URL")]
    source: String,
    /// The check file holding the check to repair.
    #[arg(long, required_unless_present = "undo")]
    checks: Option<PathBuf>,
    /// The check's name (as `scan` prints it, e.g. `trimmed(name)`).
    #[arg(long, required_unless_present = "undo")]
    check: Option<String>,
    /// The dataset, when the name is used in several.
    #[arg(long)]
    dataset: Option<String>,
    /// Show the rows affected and a preview; change nothing.
    #[arg(long, conflicts_with_all = ["confirm", "undo"])]
    dry_run: bool,
    /// Apply the fix (in one transaction, keeping a before-image for --undo).
    #[arg(long, conflicts_with = "undo")]
    confirm: bool,
    /// Undo the fix with this id.
    #[arg(long)]
    undo: Option<String>,
}

pub async fn run_fix(args: FixArgs) -> anyhow::Result<ExitCode> {
    let source = match crate::source::open(&args.source).await {
        Ok(source) if source.capabilities().fixes => source,
        Ok(source) => {
            eprintln!("error: fixes do not apply to {} sources", source.engine().name);
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(error) => {
            eprintln!("error: {error}");
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
    if let Some(id) = &args.undo {
        let restored = fix::undo(executor, id).await?;
        println!("fix {id} undone: {restored} rows restored");
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(path), Some(name)) = (&args.checks, &args.check) else {
        anyhow::bail!("expected --checks and --check");
    };
    let suite = match CheckSuite::load(path) {
        Ok(suite) => suite,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let plan = match fix::plan_named(executor, &suite, args.dataset.as_deref(), name).await {
        Ok(plan) => plan,
        Err(fix::NamedFixError::NotInSuite(why)) => {
            eprintln!("error: {}: {why}", path.display());
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(fix::NamedFixError::NoFix(why)) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let (affected, preview) = plan.dry_run(executor, 5).await?;
    println!(
        "fix for {} {}: {}",
        plan.dataset,
        plan.check,
        fix::describe(plan.kind)
    );
    println!("{affected} rows affected");
    for line in &preview {
        println!("  {line}");
    }
    println!("sql: {}", plan.statement());
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.confirm {
        eprintln!("error: not applied: pass --dry-run to preview or --confirm to apply");
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    if affected == 0 {
        println!("nothing to fix");
        return Ok(ExitCode::SUCCESS);
    }
    let (id, changed) = plan.apply(executor).await?;
    println!("applied fix {id}: {changed} rows changed; undo with `cwic-agent fix --source … --undo {id}`");
    Ok(ExitCode::SUCCESS)
}
