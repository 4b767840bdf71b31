//! The console in a real browser: headless Chromium (Debian's) opens the console served by the control
//! plane, with data an agent shipped, and walks from the inventory to an asset's columns and the
//! failing check the agent ran on it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::process::Command;
use std::time::Duration;

use cwic_e2e::{Stack, add_user, repository_root, wait_exit, wait_for};

#[tokio::test]
async fn the_console_shows_inventory_and_columns_in_chromium() -> anyhow::Result<()> {
    let console = repository_root().join("console");
    let dist = console.join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} has no build: run scripts/build-console",
        dist.display()
    );

    let stack = Stack::start_with_console(Some(dist)).await?;
    let control_plane = &stack.control_plane;
    let agent = stack.agent("demo", "1h")?;
    std::fs::write(
        agent.dir.path().join("checks.yml"),
        "version: 1\ndatasets:\n  - dataset: public.customers\n    checks:\n      - template: not_null\n        column: email\n",
    )?;
    let config = std::fs::read_to_string(&agent.config_path)?;
    std::fs::write(&agent.config_path, format!("{config}    checks: checks.yml\n"))?;
    let mut process = agent.spawn(1)?;
    assert!(
        wait_exit(&mut process, Duration::from_secs(60)).await?.success(),
        "{}",
        agent.log()
    );
    let assets = wait_for("assets in the API", Duration::from_secs(30), || async {
        Ok((control_plane.get("/api/v1/assets", "demo").await?["total"] == 5).then_some(()))
    })
    .await;
    assert!(
        assets.is_ok(),
        "{assets:?}\nagent log:\n{}\ncontrol plane log:\n{}",
        agent.log(),
        control_plane.log()
    );

    add_user(
        &stack.control_db.url,
        "demo",
        "ada@demo.test",
        "console-password-1",
        "viewer",
    )
    .await?;
    let screenshot = std::env::temp_dir().join(format!("cwic-console-{}.png", std::process::id()));
    let output = Command::new("node")
        .arg(console.join("tests/smoke.mjs"))
        .arg(control_plane.base_url())
        .arg("customers")
        .arg(&screenshot)
        .env("CWIC_EMAIL", "ada@demo.test")
        .env("CWIC_PASSWORD", "console-password-1")
        .env("CWIC_EXPECT_FAILING_CHECK", "not_null(email)")
        .output()?;
    assert!(
        output.status.success(),
        "browser smoke test failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        screenshot.is_file(),
        "the smoke test should have written {}",
        screenshot.display()
    );
    Ok(())
}
