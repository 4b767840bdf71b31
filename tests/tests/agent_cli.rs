//! What a user sees from `cwic-agent` on bad configuration: one line naming file, key and expectation,
//! and a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::Command;

use cwic_e2e::{binary, free_port};

fn validate(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.yaml");
    std::fs::write(&path, config).unwrap();
    let output = Command::new(binary("cwic-agent"))
        .args(["validate", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&path.display().to_string(), "agent.yaml");
    (output.status.code().unwrap_or(-1), stderr.trim_end().to_owned())
}

fn config(source_url: &str, extra: &str) -> String {
    format!(
        "version: 1\ntenant: acme\nagent_id: wh-1\nnats_url: nats://127.0.0.1:4222\n{extra}sources:\n  - name: warehouse\n    url: {source_url}\n"
    )
}

#[test]
fn unknown_key_is_one_line_with_file_line_and_key() {
    let (code, stderr) = validate(&config("postgres://cwic:cwic@127.0.0.1/cwic", "tennant: x\n"));
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: agent.yaml:5:1: tennant: unknown field `tennant`, expected one of `version`, `tenant`"
        ),
        "{stderr}"
    );
}

#[test]
fn wrong_type_is_one_line_with_the_key_and_expectation() {
    let (code, stderr) = validate(&config(
        "postgres://cwic:cwic@127.0.0.1/cwic",
        "schedule:\n  every: [1]\n",
    ));
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: agent.yaml:6:10: schedule.every: invalid type: sequence, expected a string"
    );
}

#[test]
fn unreachable_source_names_the_url_key() {
    let port = free_port();
    let (code, stderr) = validate(&config(
        &format!("postgres://cwic:secret@127.0.0.1:{port}/cwic"),
        "",
    ));
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: agent.yaml: sources[0].url: cannot connect to postgres://cwic:****@127.0.0.1:{port}/cwic: "
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("(expected a reachable postgres server)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret"),
        "the password must never be printed: {stderr}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let output = Command::new(binary("cwic-agent"))
        .args(["validate", "--config", "/nonexistent/agent.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "error: /nonexistent/agent.yaml: cannot read the file: No such file or directory (os error 2)"
    );
}
