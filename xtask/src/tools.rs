//! The pinned tools, installed into git-ignored project folders when missing:
//! wasm-bindgen-cli under `.tools/`, wrangler, binaryen and esbuild under
//! `node_modules/` (`npm ci` from the committed lockfile), the wasm32 target through rustup;
//! cargo-fuzz under `.tools/` too, but only when fuzzing is asked for ([`cargo_fuzz`]).

use crate::step::{exec, output, step};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Must equal the `wasm-bindgen` version in Cargo.lock (checked by [`ensure`]).
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
const MIN_NODE_MAJOR: u32 = 20;
/// cargo-fuzz, for `cargo xtask fuzz`.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Paths of the installed tools.
pub struct Tools {
    pub wasm_bindgen: PathBuf,
    pub wasm_bindgen_test_runner: PathBuf,
    pub wasm_opt: PathBuf,
    pub wasm_metadce: PathBuf,
    pub esbuild: PathBuf,
}

/// `rustup <kind> add <name>` unless `rustup <kind> list --installed` has it already.
fn rustup_add(kind: &str, name: &str) -> Result<()> {
    let installed = output(Command::new("rustup").args([kind, "list", "--installed"]))
        .context("rustup not found: install Rust with rustup (https://rustup.rs)")?;
    if !installed.lines().any(|l| l.trim() == name) {
        exec(Command::new("rustup").args([kind, "add", name]))?;
    }
    Ok(())
}

/// Installs whatever is missing and returns where everything is.
pub fn ensure(root: &Path) -> Result<Tools> {
    check_lockfile_pin(root)?;
    step("checking Node.js", check_node)?;
    step("checking the wasm32-unknown-unknown target", || rustup_add("target", "wasm32-unknown-unknown"))?;
    // The widget's release build compiles the standard library itself (see build::widget).
    step("checking the rust-src component", || rustup_add("component", "rust-src"))?;
    let bin = root.join(".tools/bin");
    let wasm_bindgen = bin.join("wasm-bindgen");
    step(&format!("checking wasm-bindgen-cli {WASM_BINDGEN_VERSION} in .tools/"), || {
        if output(Command::new(&wasm_bindgen).arg("--version")).as_deref()
            != Some(&format!("wasm-bindgen {WASM_BINDGEN_VERSION}"))
        {
            // Not --locked: its lockfile wants a webpki-roots release the registry lacks.
            cargo_install(root, &["wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION])?;
        }
        Ok(())
    })?;
    step("checking node_modules (wrangler, binaryen) against package-lock.json", || npm_ci(root))?;
    let node_bin = root.join("node_modules/.bin");
    Ok(Tools {
        wasm_bindgen_test_runner: bin.join("wasm-bindgen-test-runner"),
        wasm_bindgen,
        wasm_opt: node_bin.join("wasm-opt"),
        wasm_metadce: node_bin.join("wasm-metadce"),
        esbuild: root.join("node_modules/@esbuild/linux-x64/bin/esbuild"),
    })
}

/// Installs cargo-fuzz into `.tools/` unless that version is there; returns its `bin` folder,
/// for `PATH`, so `cargo fuzz` finds it.
pub fn cargo_fuzz(root: &Path) -> Result<PathBuf> {
    let bin = root.join(".tools/bin");
    step(&format!("checking cargo-fuzz {CARGO_FUZZ_VERSION} in .tools/"), || {
        if output(Command::new(bin.join("cargo-fuzz")).arg("--version")).as_deref()
            != Some(&format!("cargo-fuzz {CARGO_FUZZ_VERSION}"))
        {
            cargo_install(root, &["cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked"])?;
        }
        Ok(())
    })?;
    Ok(bin)
}

fn cargo_install(root: &Path, args: &[&str]) -> Result<()> {
    exec(Command::new("cargo").arg("install").args(args).arg("--root").arg(root.join(".tools")))
}

fn check_node() -> Result<()> {
    let version = output(Command::new("node").arg("--version"))
        .with_context(|| format!("Node.js not found: install Node.js {MIN_NODE_MAJOR} or newer (with npm)"))?;
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    if major < MIN_NODE_MAJOR {
        bail!("Node.js {version} is too old: install Node.js {MIN_NODE_MAJOR} or newer");
    }
    output(Command::new("npm").arg("--version")).context("npm not found: install npm with Node.js")?;
    Ok(())
}

/// `npm ci` when node_modules is missing or was installed from another lockfile.
fn npm_ci(root: &Path) -> Result<()> {
    let lock = std::fs::read(root.join("package-lock.json")).context("package-lock.json is missing")?;
    let stamp_path = root.join("node_modules/.switchboard-lock");
    if std::fs::read(&stamp_path).ok().as_deref() == Some(lock.as_slice())
        && root.join("node_modules/.bin/wrangler").exists()
    {
        return Ok(());
    }
    exec(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(root))?;
    std::fs::write(&stamp_path, lock)?;
    Ok(())
}

/// The wasm-bindgen crate and CLI must agree exactly, or the generated glue breaks at run time.
fn check_lockfile_pin(root: &Path) -> Result<()> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    let pinned = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"').map(str::to_owned)));
    match pinned {
        Some(v) if v == WASM_BINDGEN_VERSION => Ok(()),
        other => {
            bail!("Cargo.lock has wasm-bindgen {other:?} but xtask installs {WASM_BINDGEN_VERSION}: update tools.rs")
        }
    }
}
