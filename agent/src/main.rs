//! `cwic-agent`: runs next to the data, measures it, and ships only metrics to the control plane.

mod checks;
mod collector;
mod commands;
mod config;
mod drift;
mod enroll;
mod metrics;
mod profile_cli;
mod profile_wire;
mod profiler;
mod segments;
mod shipper;
mod source;
mod spool;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug_span, error, info};

use crate::config::{AgentConfig, ConfigError};
use crate::metrics::{AgentMetrics, ErrorStage};
use crate::shipper::Shipper;
use crate::spool::Spool;
use cwic_shared::subjects::AgentSubjectKind;

/// Exit code for a configuration the agent cannot use (bad file, unreachable source).
const EXIT_CONFIG: u8 = 2;

#[derive(Parser)]
#[command(
    name = "cwic-agent",
    version,
    about = "CWIC agent: measures data where it lives and ships only metrics"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CWIC_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
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
        metrics_listen: Option<SocketAddr>,
    },
    /// Profile tables once and print the results; needs no config file and no control plane.
    ///
    /// Each table is read in one streaming scan (PostgreSQL binary COPY) and every column gets
    /// counts, nulls, distinct values (exact, then HyperLogLog), min/max, mean and spread, quantiles
    /// (exact, then KLL), top values, histograms, text lengths and semantic types with a PII flag;
    /// numeric columns also get Pearson and Spearman correlations. Values of PII columns are masked
    /// unless `--no-mask` is given. Exits non-zero when a source, table or column could not be
    /// profiled; the others are still printed.
    Profile(profile_cli::ProfileArgs),
    /// Enroll with the control plane: trade a one-time token for this agent's identity and broker
    /// credentials (written to `--out`, next to the config file).
    Enroll(enroll::EnrollArgs),
    /// Check templates and check files: list the templates, print the check-file JSON Schema.
    #[command(subcommand)]
    Checks(checks::cli::ChecksCommand),
    /// Run a check file against a database once and print the results; needs no config file.
    ///
    /// Exits 1 when a check at or above `--fail-on` fails or cannot run, 2 when the check file or
    /// the source cannot be used. `--format junit` writes JUnit XML for CI systems.
    Scan(checks::cli::ScanArgs),
    /// Repair what a check found, where the repair is well defined; `--dry-run` previews, `--confirm`
    /// applies in one transaction with a before-image, `--undo <id>` restores it.
    Fix(checks::cli::FixArgs),
    /// Check a configuration file and that its sources are reachable, then exit.
    Validate {
        #[arg(long, short, env = "CWIC_AGENT_CONFIG")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let otlp_endpoint = match &cli.command {
        Command::Run { otlp_endpoint, .. } => otlp_endpoint.as_deref(),
        _ => None,
    };
    // Inside the runtime: the span exporter's task runs on it.
    let telemetry = {
        let _runtime = runtime.enter();
        init_tracing(cli.log_format, otlp_endpoint)
    };
    let telemetry = match telemetry {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run {
                config,
                runs,
                metrics_listen,
                otlp_endpoint: _,
            } => run(&config, runs, metrics_listen).await,
            Command::Validate { config } => validate(&config).await,
            Command::Profile(args) => profile_cli::run(args).await,
            Command::Enroll(args) => enroll::run(args).await,
            Command::Checks(command) => checks::cli::run_checks_command(command),
            Command::Scan(args) => checks::cli::run_scan(args).await,
            Command::Fix(args) => checks::cli::run_fix(args).await,
        }
    });
    // The runtime still runs the exporter's task: the last spans are sent before it is dropped.
    telemetry.shutdown();
    match result {
        Ok(code) => code,
        Err(error) => match error.downcast_ref::<ConfigError>() {
            Some(config_error) => {
                eprintln!("error: {config_error}");
                ExitCode::from(EXIT_CONFIG)
            }
            None => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn init_tracing(
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

async fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    source::connect_all(path, &config.sources).await?;
    println!(
        "{}: ok (tenant {}, agent {}, {} source(s), every {})",
        path.display(),
        config.tenant,
        config.agent_id,
        config.sources.len(),
        humantime::format_duration(config.interval)
    );
    Ok(ExitCode::SUCCESS)
}

/// How a session of `run` ended.
enum Session {
    Done,
    /// `reload_config` from the control plane: start again with the re-read config.
    Reload,
}

async fn run(path: &Path, runs: Option<u64>, metrics_listen: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    // One registry for the whole run, across config reloads.
    let metrics = Arc::new(AgentMetrics::new());
    let metrics_task = match metrics_listen {
        Some(address) => {
            let listener = metrics::bind(address).await?;
            Some(tokio::spawn(metrics::serve(
                listener,
                metrics.clone(),
                shutdown.child_token(),
            )))
        }
        None => None,
    };
    let ended = loop {
        match run_session(path, runs, &shutdown, &metrics).await {
            Ok(Session::Done) => break Ok(ExitCode::SUCCESS),
            Ok(Session::Reload) => info!("reloading the config"),
            Err(error) => break Err(error),
        }
    };
    shutdown.cancel();
    if let Some(task) = metrics_task {
        task.await.context("the metrics endpoint failed")?;
    }
    ended
}

async fn run_session(
    path: &Path,
    runs: Option<u64>,
    shutdown: &CancellationToken,
    metrics: &Arc<AgentMetrics>,
) -> anyhow::Result<Session> {
    let config = AgentConfig::load(path)?;
    let sources = source::connect_all(path, &config.sources).await?;
    let spool = Arc::new(Spool::open(&config.spool_dir)?);
    let wake = Arc::new(Notify::new());
    let inbox_prefix = cwic_shared::subjects::agent_inbox_prefix(&config.tenant, &config.agent_id);
    let shipper = Shipper::connect(
        &config.nats_url,
        config.nats_credentials.as_deref(),
        &inbox_prefix,
        spool.clone(),
        wake.clone(),
    )
    .await
    .with_context(|| format!("cannot start the connection to {}", config.nats_url))?
    .with_metrics(metrics.clone());
    metrics.set_outbox_depth(spool.pending()?.len());
    info!(
        tenant = %config.tenant,
        agent = %config.agent_id,
        nats = %config.nats_url,
        outbox = %spool.root().display(),
        every = %humantime::format_duration(config.interval),
        "agent started"
    );

    let cancel = shutdown.child_token();
    let finish = CancellationToken::new();
    let run_now = Arc::new(Notify::new());
    let reload = CancellationToken::new();
    let commands_task = tokio::spawn(commands::listen(
        shipper.client(),
        cwic_shared::subjects::command_subject(&config.tenant, &config.agent_id),
        commands::Controls {
            config_path: path.to_path_buf(),
            run_now: run_now.clone(),
            reload: reload.clone(),
        },
        cancel.clone(),
    ));
    let shipper_task = tokio::spawn(shipper.run(cancel.clone(), finish.clone()));
    // Enrolled agents report to the control plane until they stop (`cwic-agent enroll` wrote the identity).
    let heartbeat_stop = cancel.child_token();
    let heartbeat_task = match enroll::load_identity(path)? {
        Some(identity) => {
            info!(control_plane = %identity.control_plane, "enrolled, sending heartbeats");
            let stop = heartbeat_stop.clone();
            Some(tokio::spawn(async move {
                if let Err(error) = enroll::heartbeats(identity, stop).await {
                    error!(error = %format!("{error:#}"), "heartbeats stopped");
                }
            }))
        }
        None => None,
    };

    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut completed = 0_u64;
    let mut lineage_fingerprints: Vec<Option<u64>> = vec![None; sources.len()];
    let mut reloading = false;
    while runs.is_none_or(|limit| completed < limit) {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = reload.cancelled() => {
                reloading = true;
                break;
            }
            _ = ticker.tick() => {}
            () = run_now.notified() => info!("run requested by the control plane"),
        }
        for ((source_config, source), fingerprint) in config
            .sources
            .iter()
            .zip(&sources)
            .zip(lineage_fingerprints.iter_mut())
        {
            // The root of the trace of this source's batches: the outbox keeps its context, so the
            // publish (however late) and the control plane's ingest and store continue it.
            let collection = debug_span!("collection", otel.kind = "internal", source = %source_config.name);
            let context = cwic_telemetry::context_headers(&collection);
            match collector::collect(&config, source_config, source)
                .instrument(collection.clone())
                .await
            {
                Ok(batches) => {
                    metrics.collected(&source_config.name, &batches);
                    for batch in &batches {
                        spool.push_with_context(
                            AgentSubjectKind::Metrics,
                            &batch.batch_id,
                            batch,
                            &context,
                        )?;
                        metrics.spooled(AgentSubjectKind::Metrics);
                    }
                    wake.notify_one();
                }
                Err(error) => {
                    metrics.collection_failed(&source_config.name);
                    error!(%error, source = %source_config.name, "collection failed")
                }
            }
            match collector::collect_lineage(&config, source_config, source, fingerprint)
                .instrument(collection)
                .await
            {
                Ok(Some(batch)) => {
                    spool.push_with_context(AgentSubjectKind::Lineage, &batch.batch_id, &batch, &context)?;
                    metrics.spooled(AgentSubjectKind::Lineage);
                    wake.notify_one();
                }
                Ok(None) => {}
                Err(error) => {
                    metrics.error(ErrorStage::Lineage);
                    error!(%error, source = %source_config.name, "collecting sql for lineage failed")
                }
            }
        }
        completed += 1;
    }
    if reloading {
        // End this session like a stop: what waits in the outbox is sent by the next one.
        cancel.cancel();
    } else if runs.is_some() {
        info!(
            runs = completed,
            "collection runs done, sending what waits in the outbox"
        );
        finish.cancel();
    }
    shipper_task.await.context("the shipper task failed")??;
    cancel.cancel();
    commands_task.await.context("the command listener failed")?;
    heartbeat_stop.cancel();
    if let Some(task) = heartbeat_task {
        task.await.context("the heartbeat task failed")?;
    }
    let left = spool.pending()?.len();
    if reloading {
        return Ok(Session::Reload);
    }
    info!(pending = left, "agent stopped");
    Ok(Session::Done)
}

/// Cancels on SIGTERM or Ctrl-C; batches not yet sent stay in the outbox for the next start.
async fn cancel_on_signal(cancel: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                error!(%error, "cannot listen for SIGTERM");
                let _ = ctrl_c.await;
                cancel.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    info!("stop requested, unsent batches stay in the outbox");
    cancel.cancel();
}
