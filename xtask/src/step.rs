//! Progress output and command running: every step says what it does and how long it took.

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Instant;

/// Runs `f` as a named step, printing its name first and its duration after.
pub fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("==> {name}");
    let started = Instant::now();
    let out = f().with_context(|| format!("step failed: {name}"))?;
    println!("    done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(out)
}

/// Runs a command to completion, echoing it; fails on a non-zero exit.
pub fn exec(cmd: &mut Command) -> Result<()> {
    println!("    $ {}", show(cmd));
    let status = cmd.status().with_context(|| format!("could not start {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed with {status}", show(cmd));
    }
    Ok(())
}

/// Runs a command and returns its stdout, or `None` when it cannot start or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}
