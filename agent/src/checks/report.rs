//! Printing scan results: a table for people, JSON for tools, JUnit XML for CI systems.

use std::fmt::Write;

use super::run::{ScanReport, Status};

pub fn table(report: &ScanReport) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "status".into(),
        "severity".into(),
        "dataset".into(),
        "check".into(),
        "dimension".into(),
        "result".into(),
    ]];
    for result in &report.results {
        rows.push([
            result.status.as_str().to_uppercase(),
            result.severity.to_string(),
            result.dataset.clone(),
            result.check.clone(),
            result.dimension.to_string(),
            result.message.clone(),
        ]);
    }
    let mut widths = [0_usize; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count().min(60));
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index == 5 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for result in report.results.iter().filter(|result| !result.samples.is_empty()) {
        let _ = writeln!(
            out,
            "samples of {} {} (masked unless --unmasked-samples):",
            result.dataset, result.check
        );
        for sample in &result.samples {
            let values: Vec<&str> = sample.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
            let _ = writeln!(out, "  {}", values.join(" | "));
        }
    }
    let count = |status: Status| report.results.iter().filter(|r| r.status == status).count();
    let _ = writeln!(
        out,
        "{} checks: {} passed, {} failed, {} errors; {} table scans in {:.2} s",
        report.results.len(),
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Error),
        report.table_scans,
        report.elapsed_ms as f64 / 1000.0
    );
    out
}

pub fn json(report: &ScanReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test suite per dataset, one test case per check; a failed check is a
/// `<failure>`, a check that could not run an `<error>`.
pub fn junit(report: &ScanReport) -> String {
    let mut datasets: Vec<&str> = Vec::new();
    for result in &report.results {
        if !datasets.contains(&result.dataset.as_str()) {
            datasets.push(&result.dataset);
        }
    }
    let count = |status: Status| report.results.iter().filter(|r| r.status == status).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"cwic-agent scan\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        report.results.len(),
        count(Status::Fail),
        count(Status::Error),
        report.elapsed_ms as f64 / 1000.0
    );
    for dataset in datasets {
        let results: Vec<_> = report.results.iter().filter(|r| r.dataset == dataset).collect();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            xml_escape(dataset),
            results.len(),
            results.iter().filter(|r| r.status == Status::Fail).count(),
            results.iter().filter(|r| r.status == Status::Error).count()
        );
        for result in results {
            let _ = write!(
                out,
                "    <testcase classname=\"{}.{}\" name=\"{}\" file=\"{}\"",
                xml_escape(dataset),
                result.dimension,
                xml_escape(&result.check),
                xml_escape(&result.origin)
            );
            let message = xml_escape(&format!("[{}] {}", result.severity, result.message));
            match result.status {
                Status::Pass => out.push_str("/>\n"),
                Status::Fail => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{message}\" type=\"{}\"/>\n    </testcase>",
                        result.template
                    );
                }
                Status::Error => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{message}\" type=\"{}\"/>\n    </testcase>",
                        result.template
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
