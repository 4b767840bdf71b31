//! `cwic-agent run` and `cwic-agent validate`: the collection loop of a session (sources, schedule,
//! outbox, shipper, command listener, heartbeats) and its reload on command.
//!
//! Owns the session's life cycle. Must not measure or ship by itself: collections are the collector's,
//! delivery is the shipper's.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug_span, error, info, warn};

use crate::config::AgentConfig;
use crate::metrics::{self, AgentMetrics, ErrorStage};
use crate::shipper::Shipper;
use crate::spool::Spool;
use crate::{attached, collector, commands, enroll, source};
use cwic_shared::subjects::AgentSubjectKind;

/// `cwic-agent validate`: checks the config file and that its sources are reachable.
pub async fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(path)?;
    source::connect_all(path, &config.sources, &[]).await?;
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

/// `cwic-agent run`: collects on the schedule until stopped (or `runs` runs are done and the outbox is
/// empty), starting again with the re-read config on `reload_config`.
/// With `metrics_listen`, serves the agent's Prometheus metrics there for the whole run.
pub async fn run(
    path: &Path,
    runs: Option<u64>,
    metrics_listen: Option<SocketAddr>,
) -> anyhow::Result<ExitCode> {
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
    // Enrolled agents report to the control plane and run the contracts attached there
    // (`cwic-agent enroll` wrote the identity).
    let identity = enroll::load_identity(path)?;
    let mut fetcher = identity.as_ref().map(attached::Fetcher::new).transpose()?;
    let contracts = attached::refresh(fetcher.as_mut(), &config.state_dir).await;
    let sources = source::connect_all(path, &config.sources, &contracts).await?;
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
            sources: config
                .sources
                .iter()
                .map(|source| source.name.clone())
                .zip(sources.iter().cloned())
                .collect(),
            run_now: run_now.clone(),
            reload: reload.clone(),
        },
        cancel.clone(),
    ));
    let shipper_task = tokio::spawn(shipper.run(cancel.clone(), finish.clone()));
    let heartbeat_stop = cancel.child_token();
    let heartbeat_task = match identity {
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
    'runs: while runs.is_none_or(|limit| completed < limit) {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = reload.cancelled() => {
                reloading = true;
                break;
            }
            _ = ticker.tick() => {}
            () = run_now.notified() => info!("run requested by the control plane"),
        }
        // Contracts attached or detached since the session started: start again with them.
        if let (Some(fetcher), true) = (fetcher.as_mut(), completed > 0) {
            match fetcher.fetch().await {
                Ok(latest) if latest != contracts => {
                    if let Err(error) = attached::save(&config.state_dir, &latest) {
                        warn!(error = %format!("{error:#}"), "cannot cache the attached contracts");
                    }
                    info!(
                        contracts = latest.len(),
                        "the attached contracts changed, reloading"
                    );
                    reloading = true;
                    break;
                }
                Ok(_) => {}
                Err(error) => warn!(error = %format!("{error:#}"), "cannot fetch the attached contracts"),
            }
        }
        for ((source_config, connected), fingerprint) in config
            .sources
            .iter()
            .zip(&sources)
            .zip(lineage_fingerprints.iter_mut())
        {
            // The root of the trace of this source's batches: the outbox keeps its context, so the
            // publish (however late) and the control plane's ingest and store continue it.
            let collection = debug_span!("collection", otel.kind = "internal", source = %source_config.name);
            let context = cwic_telemetry::context_headers(&collection);
            // A stop does not wait for a long collection: it is abandoned (nothing of it was spooled;
            // the memory files are replaced atomically) and the next start collects again.
            let collected = tokio::select! {
                biased;
                () = cancel.cancelled() => {
                    info!(source = %source_config.name, "collection abandoned: stop requested");
                    break 'runs;
                }
                collected = collector::collect(&config, source_config, connected)
                    .instrument(collection.clone()) => collected,
            };
            match collected {
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
            let lineage = tokio::select! {
                biased;
                () = cancel.cancelled() => break 'runs,
                lineage = collector::collect_lineage(
                    &config,
                    source_config,
                    connected.source.as_ref(),
                    fingerprint,
                )
                .instrument(collection) => lineage,
            };
            match lineage {
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
