//! `cargo xtask test`: every check CI runs, in the order that fails fastest.

use crate::step::{exec, output, step};
use crate::{build, tools};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

pub fn run(root: &Path) -> Result<()> {
    let tools = tools::ensure(root)?;
    step("checking Chromium and ChromeDriver", ensure_chromium)?;
    step("rustfmt --check", || exec(Command::new("cargo").args(["fmt", "--all", "--", "--check"])))?;
    step("clippy, native (warnings denied)", || {
        exec(Command::new("cargo").args([
            "clippy",
            "--workspace",
            "--exclude",
            "switchboard-widget",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // On wasm32: libraries and tests, not the engine's criterion benches (native only).
    step("clippy, wasm32 (warnings denied)", || {
        exec(Command::new("cargo").args([
            "clippy",
            "--package",
            "switchboard-widget",
            "--package",
            "switchboard-console",
            "--package",
            "switchboard-edge",
            "--package",
            "switchboard-dialog",
            "--target",
            "wasm32-unknown-unknown",
            "--lib",
            "--tests",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("native unit and integration tests", || {
        exec(Command::new("cargo").args([
            "test",
            "--workspace",
            "--exclude",
            "switchboard-widget",
            "--exclude",
            "switchboard-e2e",
        ]))
    })?;
    step("fuzz targets from their seeds (cargo xtask fuzz --smoke)", || crate::fuzz::smoke(root))?;
    step("widget tests in headless Chromium (wasm-bindgen-test)", || {
        exec(
            Command::new("cargo")
                .args(["test", "--package", "switchboard-widget", "--target", "wasm32-unknown-unknown"])
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &tools.wasm_bindgen_test_runner)
                .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
        )
    })?;
    build::all(root, &tools)?;
    step("sizes against their budgets", || crate::size::run(root))?;
    step("end-to-end tests (wrangler dev + headless Chromium)", || {
        exec(Command::new("cargo").args(["test", "--package", "switchboard-e2e"]))
    })?;
    println!("\nAll checks passed.");
    Ok(())
}

fn ensure_chromium() -> Result<()> {
    let have = |bin: &str| Path::new(bin).exists();
    if have("/usr/bin/chromium") && have("/usr/bin/chromedriver") {
        return Ok(());
    }
    let root_user = output(Command::new("id").arg("-u")).as_deref() == Some("0");
    if root_user && have("/usr/bin/apt-get") {
        exec(Command::new("apt-get").arg("update"))?;
        return exec(Command::new("apt-get").args(["install", "-y", "chromium", "chromium-driver"]));
    }
    bail!(
        "the browser tests need Chromium and ChromeDriver at /usr/bin/chromium and /usr/bin/chromedriver; \
         install them with: sudo apt-get install -y chromium chromium-driver"
    )
}
