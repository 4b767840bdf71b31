//! Synthetic data-quality benchmark for the anomaly detectors: hourly and daily metric series (row
//! counts, NULL share, freshness lateness, column counts, `freshness_lag` sawtooths,
//! `distribution_drift`) with injected drops, spikes, level shifts, late and overdue loads, schema
//! changes and distribution changes, judged twice: by the seasonal series detector alone (before)
//! and by the detector the control plane picks per metric (after). Then tables whose metrics each
//! stay in range while their combination breaks, judged by the per-series detectors and by the
//! multivariate table model. Prints recall per kind, precision and false alerts per family, then
//! the forecast's accuracy on the clean series (the last 24 points forecast from the rest: mean
//! absolute percentage error and how many truths fall inside the 95% interval).
//!
//! `cargo bench -p cwic-control-plane --bench anomaly_synthetic [-- --seed N]`

use cwic_control_plane::detectors::DetectorConfig;
use cwic_control_plane::detectors::synthetic::{
    evaluate, evaluate_by_metric, evaluate_tables, evaluate_tables_per_series, generate_benchmark,
    generate_table_benchmark,
};
use cwic_control_plane::monitoring::forecast::forecast;

const FORECAST_HORIZON: usize = 24;
/// Tables of the multivariate benchmark: one clean, twenty with three breaks each.
const TABLES: u64 = 21;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed = args
        .iter()
        .position(|arg| arg == "--seed")
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(2024);
    let started = std::time::Instant::now();
    let series = generate_benchmark(seed);
    println!(
        "synthetic data-quality benchmark, seed {seed}, {} series",
        series.len()
    );
    println!("== before: the seasonal series detector on every series");
    println!("{}", evaluate(&series, &DetectorConfig::default()));
    println!(
        "== after: the detector picked by metric (freshness_lag: rhythm, distribution_drift: one-sided)"
    );
    println!("{}", evaluate_by_metric(&series));
    let tables = generate_table_benchmark(seed, TABLES);
    println!("== tables, per-series detectors on each of their series");
    println!("{}", evaluate_tables_per_series(&tables));
    println!("== tables, multivariate table model");
    println!("{}", evaluate_tables(&tables));

    println!("| clean series | seasonal period | MAPE | inside 95% interval |");
    println!("|---|---|---|---|");
    let (mut inside_all, mut total_all) = (0, 0);
    for labelled in series.iter().filter(|labelled| labelled.anomalies.is_empty()) {
        let cut = labelled.points.len().saturating_sub(FORECAST_HORIZON);
        let (history, future) = labelled.points.split_at(cut);
        let Some(result) = forecast(history, FORECAST_HORIZON) else {
            continue;
        };
        let mut inside = 0;
        let mut error = 0.0;
        for (point, (_, truth)) in result.points.iter().zip(future) {
            inside += usize::from(point.low <= *truth && *truth <= point.high);
            error += ((point.value - truth) / truth.abs().max(f64::MIN_POSITIVE)).abs();
        }
        inside_all += inside;
        total_all += future.len();
        println!(
            "| {} | {} | {:.1}% | {inside}/{} |",
            labelled.name,
            result
                .seasonal_period_secs
                .map_or("none".to_owned(), |secs| format!("{} h", secs / 3_600)),
            100.0 * error / future.len() as f64,
            future.len()
        );
    }
    println!(
        "forecast interval coverage: {inside_all}/{total_all} ({:.1}%)",
        100.0 * inside_all as f64 / total_all.max(1) as f64
    );
    println!("elapsed: {:.2} s", started.elapsed().as_secs_f64());
}
