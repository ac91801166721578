//! Project automation, the cargo-xtask way: `cargo xtask <command>`.
//!
//! - `dev`: install missing tools, build widget and worker, serve everything on
//!   http://127.0.0.1:8787 with `wrangler dev` and a persistent local KV.
//! - `test`: formatting, clippy, native tests, widget tests in headless Chromium, builds, and
//!   the end-to-end tests against `wrangler dev` and Chromium.
//! - `build`: install missing tools and build widget and worker (release).
//! - `size`: print raw/gzip/brotli sizes of what a visitor and the edge load.
//! - `eval`: NLU accuracy, latency and training time on CLINC150 and SNIPS (../shared/data);
//!   `--wasm` measures the same code as wasm32-wasip1 under Node; also whole edge turns.
//! - `bench`: the worker under a bounded load in local workerd: throughput and latency.
//! - `fuzz`: the fuzz targets of every parser of outside input (cargo-fuzz, libFuzzer).

mod bench;
mod build;
mod dev;
mod eval;
mod fuzz;
mod size;
mod step;
mod test;
mod tools;

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("dev") => dev::run(&root),
        Some("test") => test::run(&root),
        Some("build") => {
            let tools = tools::ensure(&root)?;
            build::all(&root, &tools)
        }
        Some("size") => size::run(&root),
        Some("eval") => eval::run(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("fuzz") => fuzz::run(&root, &args[1..]),
        _ => bail!("usage: cargo xtask <dev | test | build | size | eval | bench | fuzz>\n\n{}", HELP),
    }
}

const HELP: &str = "\
  dev    install missing tools, build, and serve the demo on http://127.0.0.1:8787
  test   fmt, clippy, native tests, widget tests in Chromium, end-to-end tests
  build  build the widget into public/widget/ and the worker into edge/build/
  size   print raw, gzip and brotli sizes of the widget and the worker
  eval   NLU figures on CLINC150 and SNIPS from ../shared/data (--data DIR to override);
         --wasm: the same measurements as wasm32-wasip1 under Node (V8), for the worker and widget;
         --turns-only: just the per-turn CPU of the edge core (demo and 150-intent agents)
  bench  the worker in local workerd under load (--clients 8 --seconds 20): turns/s, latency;
         --conversations 200 --turns 50 [--hog N] [--json]: also errors, lost and duplicated turns;
         local storage in tmpfs unless --disk
  fuzz   fuzz targets (cargo-fuzz): --list; --smoke (each 8 s, fails on a crash);
         <target> [--seconds 300] for one longer";

/// The workspace root (the parent of this crate).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}
