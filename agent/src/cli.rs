//! The `cwic-agent` command line: the clap definitions of every subcommand and flag, and the log set-up
//! they choose. `main.rs` parses [`Cli`] and dispatches.
//!
//! Owns the CLI surface only. Must not do the work of a command: each variant hands its arguments to
//! the module that owns the command.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "cwic-agent",
    version,
    about = "CWIC agent: measures data where it lives and ships only metrics"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CWIC_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Collect on the configured schedule and ship batches to the control plane.
    ///
    /// Every batch is written to the on-disk outbox first and removed only after the broker
    /// acknowledged it, so nothing is lost while the broker is unreachable or the agent restarts.
    Run {
        /// The agent's YAML configuration file.
        #[arg(long, short, env = "CWIC_AGENT_CONFIG")]
        config: PathBuf,
        /// Stop after this many collection runs, once the outbox is empty (0: only send what waits).
        #[arg(long)]
        runs: Option<u64>,
        /// OpenTelemetry collector to export traces to over OTLP/HTTP (protobuf), e.g.
        /// http://127.0.0.1:4318 (spans go to <endpoint>/v1/traces). Off when unset.
        #[arg(long, env = "CWIC_OTLP_ENDPOINT")]
        otlp_endpoint: Option<String>,
        /// Serve Prometheus metrics (collections, rows scanned, batches spooled and sent, outbox
        /// depth, errors) on http://<addr>/metrics, e.g. 127.0.0.1:9464. Off when unset.
        #[arg(long, env = "CWIC_METRICS_LISTEN")]
        metrics_listen: Option<std::net::SocketAddr>,
    },
    /// Profile tables once and print the results; needs no config file and no control plane.
    ///
    /// Each table is read in one streaming scan (PostgreSQL binary COPY) and every column gets
    /// counts, nulls, distinct values (exact, then HyperLogLog), min/max, mean and spread, quantiles
    /// (exact, then KLL), top values, histograms, text lengths and semantic types with a PII flag;
    /// numeric columns also get Pearson and Spearman correlations. Values of PII columns are masked
    /// unless `--no-mask` is given. Exits non-zero when a source, table or column could not be
    /// profiled; the others are still printed.
    Profile(crate::profile_cli::ProfileArgs),
    /// Enroll with the control plane: trade a one-time token for this agent's identity and broker
    /// credentials (written to `--out`, next to the config file).
    Enroll(crate::enroll::EnrollArgs),
    /// Check templates and check files: list the templates, print the check-file JSON Schema.
    #[command(subcommand)]
    Checks(crate::checks::cli::ChecksCommand),
    /// Run a check file against a database once and print the results; needs no config file.
    ///
    /// Exits 1 when a check at or above `--fail-on` fails or cannot run, 2 when the check file or
    /// the source cannot be used. `--format junit` writes JUnit XML for CI systems.
    Scan(crate::checks::cli::ScanArgs),
    /// Data contracts (ODCS v3, datacontract.com): lint a contract, test it against a source,
    /// list the breaking changes between two versions.
    #[command(subcommand)]
    Contract(crate::contracts::cli::ContractCommand),
    /// Repair what a check found, where the repair is well defined; `--dry-run` previews, `--confirm`
    /// applies in one transaction with a before-image, `--undo <id>` restores it.
    Fix(crate::checks::cli::FixArgs),
    /// Check a configuration file and that its sources are reachable, then exit.
    Validate {
        #[arg(long, short, env = "CWIC_AGENT_CONFIG")]
        config: PathBuf,
    },
}

/// Logs to stderr, filtered by `CWIC_LOG` (default: info, with the drivers quieter).
pub fn init_tracing(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<cwic_telemetry::Telemetry, cwic_telemetry::TelemetryError> {
    cwic_telemetry::init(&cwic_telemetry::TelemetryConfig {
        service_name: "cwic-agent",
        log_format: match format {
            LogFormat::Text => cwic_telemetry::LogFormat::Text,
            LogFormat::Json => cwic_telemetry::LogFormat::Json,
        },
        // Full-table scans are slow statements by design: sqlx's slow-query warnings would only
        // repeat the SQL of every scan.
        default_log_filter: "info,sqlx=warn,sqlx::query=error,async_nats=warn",
        otlp_endpoint,
    })
}
