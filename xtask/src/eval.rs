//! `cargo xtask eval [--wasm]`: builds the measuring binary (`src/bin/eval/`) and runs it on the
//! datasets in ../shared/data, natively or as `wasm32-wasip1` under Node's WASI.
//!
//! Both builds use the `eval` profile: timings of a debug build mean nothing, and release builds
//! are tuned for wasm size rather than speed. Node runs the wasm because it is V8, the engine of
//! workerd and Chromium, so its figures stand for the worker and the widget.

use crate::step::{exec, output, step};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the runner sits; it preopens the datasets folder for the guest as `/data`.
const WASI_RUNNER: &str = "xtask/src/bin/eval/wasi.mjs";

/// Runs the measurements; `args` are passed on (`--clinc-only`, `--epochs N`, …).
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    let wasm = take_flag(&mut args, "--wasm");
    let data = match args.iter().position(|a| a == "--data") {
        Some(i) => {
            let dir = PathBuf::from(args.get(i + 1).context("--data needs a folder")?);
            args.drain(i..=i + 1);
            dir
        }
        None => root.parent().context("project has a parent folder")?.join("shared/data"),
    };
    if !wasm {
        return exec(
            Command::new("cargo")
                .args(["run", "--quiet", "--profile", "eval", "--package", "xtask", "--bin", "eval", "--"])
                .arg("--data")
                .arg(&data)
                .args(&args),
        );
    }
    step("building the measurements for wasm32-wasip1 (eval profile)", || {
        exec(Command::new("cargo").args([
            "build",
            "--quiet",
            "--profile",
            "eval",
            "--package",
            "xtask",
            "--bin",
            "eval",
            "--target",
            "wasm32-wasip1",
        ]))
    })?;
    let node = output(Command::new("node").arg("--version")).context("node is missing: install Node.js ≥ 20")?;
    step(&format!("running them in Node {node}'s WASI"), || {
        exec(
            Command::new("node")
                // node:wasi is stable in practice but still flagged experimental; the warning is noise.
                .arg("--disable-warning=ExperimentalWarning")
                // Works around a crash of Node's WASI after the guest's memory grows (see the runner).
                .arg("--no-turbo-fast-api-calls")
                .arg(root.join(WASI_RUNNER))
                .arg(root.join("target/wasm32-wasip1/eval/eval.wasm"))
                .arg(&data)
                .args(&args),
        )
    })
}

/// Removes `name` from `args`, saying whether it was there.
fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != name);
    args.len() != before
}
