//! Release builds: the widget into `public/widget/` and the worker into `edge/build/`.

use crate::step::{exec, step};
use crate::tools::Tools;
use anyhow::Result;
use std::path::Path;
use std::process::Command;

/// The wasm features current rustc emits for wasm32-unknown-unknown; all run in Chromium
/// and workerd. wasm-opt must know them or it rejects the module.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// Builds both.
pub fn all(root: &Path, tools: &Tools) -> Result<()> {
    widget(root, tools)?;
    worker(root, tools)
}

/// cargo build → wasm-bindgen (web target) → wasm-opt -Oz; plus the stylesheet.
pub fn widget(root: &Path, tools: &Tools) -> Result<()> {
    step("building the widget (wasm32, release)", || {
        exec(Command::new("cargo").args([
            "build",
            "--package",
            "switchboard-widget",
            "--lib",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ]))
    })?;
    let out = root.join("public/widget");
    let input = root.join("target/wasm32-unknown-unknown/release/switchboard_widget.wasm");
    let css = root.join("widget/style.css");
    if up_to_date(&[&input, &css], &out.join("switchboard_widget_bg.wasm")) {
        println!("==> widget output in public/widget/ is up to date");
        return Ok(());
    }
    step("generating the widget's JS bindings (wasm-bindgen)", || {
        std::fs::create_dir_all(&out)?;
        exec(
            Command::new(&tools.wasm_bindgen)
                .args(["--target", "web", "--no-typescript", "--remove-name-section", "--remove-producers-section"])
                .arg("--out-dir")
                .arg(&out)
                .arg(root.join("target/wasm32-unknown-unknown/release/switchboard_widget.wasm")),
        )
    })?;
    step("optimising the widget's wasm (wasm-opt -Oz)", || {
        let wasm = out.join("switchboard_widget_bg.wasm");
        exec(Command::new(&tools.wasm_opt).arg("-Oz").args(WASM_FEATURES).arg(&wasm).arg("-o").arg(&wasm))?;
        std::fs::copy(&css, out.join("widget.css"))?;
        Ok(())
    })
}

/// worker-build, told where the pinned tools are so it downloads nothing. It re-runs wasm-opt
/// every time, so it is skipped when the worker's wasm has not changed since the last bundle.
pub fn worker(root: &Path, tools: &Tools) -> Result<()> {
    step("compiling the worker (wasm32, release)", || {
        exec(Command::new("cargo").args([
            "build",
            "--package",
            "switchboard-edge",
            "--lib",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ]))
    })?;
    let input = root.join("target/wasm32-unknown-unknown/release/switchboard_edge.wasm");
    if up_to_date(&[&input, &root.join("edge/wrangler.toml")], &root.join("edge/build/index.js")) {
        println!("==> worker bundle in edge/build/ is up to date");
        return Ok(());
    }
    step("bundling the worker (worker-build --release)", || {
        exec(
            Command::new(&tools.worker_build)
                .args(["--release", "edge"])
                .current_dir(root)
                .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
                .env("WASM_OPT_BIN", &tools.wasm_opt)
                .env("ESBUILD_BIN", &tools.esbuild),
        )
    })
}

/// True when `output` exists and is newer than every input.
fn up_to_date(inputs: &[&Path], output: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match modified(output) {
        Some(out) => inputs.iter().all(|i| modified(i).is_some_and(|t| t < out)),
        None => false,
    }
}
