//! `cwic-agent`: parses the command line and dispatches to the `cwic_agent` library.

use std::process::ExitCode;

use clap::Parser;
use cwic_agent::cli::{Cli, Command, init_tracing};
use cwic_agent::config::ConfigError;
use cwic_agent::{checks, enroll, profile_cli, run};

/// Exit code for a configuration the agent cannot use (bad file, unreachable source).
const EXIT_CONFIG: u8 = 2;

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
            } => run::run(&config, runs, metrics_listen).await,
            Command::Validate { config } => run::validate(&config).await,
            Command::Profile(args) => profile_cli::run(args).await,
            Command::Enroll(args) => enroll::run(args).await,
            Command::Checks(command) => checks::cli::run_checks_command(command),
            Command::Scan(args) => checks::cli::run_scan(args).await,
            Command::Fix(args) => checks::cli::run_fix(args).await,
            Command::Contract(command) => cwic_agent::contracts::cli::run(command).await,
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
