//! Synthetic data-quality benchmark for the anomaly detector: hourly and daily metric series (row
//! counts, NULL share, freshness lateness, column counts) with injected drops, spikes, level shifts,
//! late loads and schema changes. Prints precision and recall per kind and the false-positive rate,
//! then the forecast's accuracy on the clean series (the last 24 points forecast from the rest:
//! mean absolute percentage error and how many truths fall inside the 95% interval).
//!
//! `cargo bench -p cwic-control-plane --bench anomaly_synthetic [-- --seed N]`

use cwic_control_plane::anomaly::DetectorConfig;
use cwic_control_plane::anomaly::synthetic::{evaluate, generate_benchmark};
use cwic_control_plane::intelligence::forecast::forecast;

const FORECAST_HORIZON: usize = 24;

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
    let report = evaluate(&series, &DetectorConfig::default());
    println!(
        "synthetic data-quality benchmark, seed {seed}, {} series",
        series.len()
    );
    println!("{report}");

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
