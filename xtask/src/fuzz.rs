//! `cargo xtask fuzz`: the coverage-guided fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer).
//!
//! - `--list`: the targets, each with the first line of its doc.
//! - `--smoke [--seconds N]`: builds every target, runs each for N seconds (8 by default) from
//!   its seeds, and fails if any crashes (`cargo xtask test` runs this).
//! - `<target> [--seconds N]`: one target for longer (300 seconds by default).
//!
//! `--sanitizer address` builds with AddressSanitizer; the default is none: the project's code
//! is safe Rust (`unsafe_code = "forbid"`), so what a target looks for is a panic, an
//! arithmetic overflow (targets build with overflow checks), a failed invariant, a hang
//! (`-timeout`) or runaway memory, and ASan roughly doubles build and run time.
//!
//! The seeds in `fuzz/corpus/<target>/` are committed and only read: libFuzzer writes what it
//! finds into `fuzz/target/corpus/<target>/` (kept between runs, git-ignored), and a crash into
//! `fuzz/artifacts/<target>/` (git-ignored), with the command that reproduces it.
//!
//! cargo-fuzz passes `-Z` flags to rustc (the sanitizers), so the pinned stable toolchain is
//! told to accept them with `RUSTC_BOOTSTRAP=1`, as the widget's `-Zbuild-std` build does.

use crate::step::{exec, step};
use crate::tools;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// Seconds per target in `--smoke`: every seed replayed and some mutation beyond, twelve
/// targets in under two minutes of CI; `cargo xtask fuzz <target>` is the long run.
const SMOKE_SECONDS: u64 = 8;
/// Seconds for one named target.
const LONG_SECONDS: u64 = 300;
/// An input that takes longer than this is reported as a hang.
const TIMEOUT_SECONDS: u64 = 20;
/// cargo-fuzz builds each crate as one codegen unit unless told otherwise: 16 build about a
/// third faster on two cores (4.3 rather than 6.5 min from scratch) for about a fifth fewer
/// executions per second, and the smoke run is mostly build.
const CODEGEN_UNITS: &str = "16";

/// Runs `cargo xtask fuzz <args>`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut args = args.to_vec();
    let seconds = take_value(&mut args, "--seconds")?.map(|s| s.parse::<u64>()).transpose().context("--seconds N")?;
    let sanitizer = take_value(&mut args, "--sanitizer")?.unwrap_or_else(|| "none".into());
    let targets = targets(root)?;
    match args.as_slice() {
        [flag] if flag == "--list" => {
            for (name, doc) in &targets {
                println!("{name:<12} {doc}");
            }
            Ok(())
        }
        [flag] if flag == "--smoke" => {
            // Not a workspace member, so `cargo fmt --all` leaves it out.
            step("rustfmt --check (fuzz/)", || {
                exec(Command::new("cargo").args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]))
            })?;
            let names: Vec<&str> = targets.iter().map(|(n, _)| n.as_str()).collect();
            fuzz(root, &names, seconds.unwrap_or(SMOKE_SECONDS), &sanitizer)
        }
        [name] if targets.iter().any(|(n, _)| n == name) => {
            fuzz(root, &[name.as_str()], seconds.unwrap_or(LONG_SECONDS), &sanitizer)
        }
        _ => {
            let names: Vec<&str> = targets.iter().map(|(n, _)| n.as_str()).collect();
            bail!(
                "usage: cargo xtask fuzz --list | --smoke [--seconds N] | <target> [--seconds N] \
                 [--sanitizer address]\ntargets: {}",
                names.join(", ")
            )
        }
    }
}

/// The smoke run `cargo xtask test` makes.
pub fn smoke(root: &Path) -> Result<()> {
    run(root, &["--smoke".to_owned()])
}

/// Builds the targets, then runs each for `seconds`; fails naming every target that crashed.
fn fuzz(root: &Path, names: &[&str], seconds: u64, sanitizer: &str) -> Result<()> {
    let bin = tools::cargo_fuzz(root)?;
    let cargo_fuzz = |args: &[&str]| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(&path))).unwrap_or(path);
        let mut cmd = Command::new("cargo");
        cmd.arg("fuzz").args(args).args(["--sanitizer", sanitizer, "--codegen-units", CODEGEN_UNITS]);
        cmd.env("PATH", path).env("RUSTC_BOOTSTRAP", "1");
        cmd.current_dir(root);
        cmd
    };
    step("building the fuzz targets (cargo fuzz build)", || exec(&mut cargo_fuzz(&["build"])))?;
    let logs = root.join("fuzz/target/logs");
    std::fs::create_dir_all(&logs)?;
    let mut crashed = Vec::new();
    for name in names {
        let seeds = root.join("fuzz/corpus").join(name);
        let found = root.join("fuzz/target/corpus").join(name);
        if std::fs::read_dir(&seeds).map(|mut d| d.next().is_none()).unwrap_or(true) {
            bail!("fuzz/corpus/{name}/ has no seeds: every target starts from hand-written inputs");
        }
        std::fs::create_dir_all(&found)?;
        step(&format!("fuzzing {name} for {seconds} s"), || {
            // libFuzzer prints a line per new input: the log keeps them, the console gets the
            // summary, or the end of the log when the target crashed.
            let log = logs.join(format!("{name}.log"));
            let file = std::fs::File::create(&log)?;
            let mut cmd = cargo_fuzz(&["run", name]);
            cmd.arg(&found).arg(&seeds).arg("--").args([
                format!("-max_total_time={seconds}"),
                format!("-timeout={TIMEOUT_SECONDS}"),
                "-print_final_stats=1".to_owned(),
            ]);
            println!(
                "    $ cargo fuzz run {name} fuzz/target/corpus/{name} fuzz/corpus/{name} (log: {})",
                log.display()
            );
            let status = cmd.stdout(file.try_clone()?).stderr(file).status().context("could not start cargo fuzz")?;
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = output.lines().collect();
            if status.success() {
                for line in lines.iter().filter(|l| l.starts_with("Done ") || l.starts_with("stat::")) {
                    println!("    {line}");
                }
            } else {
                // From the panic message (or libFuzzer's report of a hang or OOM) to the end.
                let from = lines
                    .iter()
                    .position(|l| l.contains("panicked at") || l.contains("ERROR: libFuzzer"))
                    .unwrap_or(lines.len().saturating_sub(60));
                for line in lines.iter().skip(from) {
                    println!("    | {line}");
                }
                crashed.push(*name);
            }
            Ok(())
        })?;
    }
    if !crashed.is_empty() {
        bail!(
            "fuzz targets crashed: {} (inputs under fuzz/artifacts/<target>/; each is a bug: \
             reproduce with `cargo fuzz run <target> <input>`, fix, add a unit test)",
            crashed.join(", ")
        );
    }
    Ok(())
}

/// `(name, first doc line)` of each `[[bin]]` in fuzz/Cargo.toml.
fn targets(root: &Path) -> Result<Vec<(String, String)>> {
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).context("fuzz/Cargo.toml is missing")?;
    let mut targets = Vec::new();
    for bin in manifest.split("[[bin]]").skip(1) {
        let value = |key: &str| {
            bin.lines().find_map(|l| l.trim().strip_prefix(key)?.trim().strip_prefix('=')?.trim().strip_prefix('"'))
        };
        let name = value("name").and_then(|v| v.strip_suffix('"')).context("a [[bin]] without a name")?;
        let path = value("path").and_then(|v| v.strip_suffix('"')).context("a [[bin]] without a path")?;
        let source = std::fs::read_to_string(root.join("fuzz").join(path)).with_context(|| format!("fuzz/{path}"))?;
        let doc = source.lines().find_map(|l| l.strip_prefix("//!")).unwrap_or_default().trim().to_owned();
        targets.push((name.to_owned(), doc));
    }
    Ok(targets)
}

/// Removes `flag VALUE` from `args`, returning the value.
fn take_value(args: &mut Vec<String>, flag: &str) -> Result<Option<String>> {
    let Some(i) = args.iter().position(|a| a == flag) else { return Ok(None) };
    let value = args.get(i + 1).with_context(|| format!("{flag} needs a value"))?.clone();
    args.drain(i..=i + 1);
    Ok(Some(value))
}
