//! Synthetic data-quality benchmark for the anomaly detector: hourly and daily metric series (row
//! counts, NULL share, freshness lateness, column counts) with injected drops, spikes, level shifts,
//! late loads and schema changes. Prints precision and recall per kind and the false-positive rate.
//!
//! `cargo bench -p cwic-control-plane --bench anomaly_synthetic [-- --seed N]`

use cwic_control_plane::anomaly::DetectorConfig;
use cwic_control_plane::anomaly::synthetic::{evaluate, generate_benchmark};

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
    println!("elapsed: {:.2} s", started.elapsed().as_secs_f64());
}
