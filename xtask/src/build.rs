//! Release builds: the widget into `public/widget/`, the agent console and dashboard into
//! `public/console/`, and the worker into `edge/build/`.

use crate::step::{exec, step};
use crate::tools::Tools;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};

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

/// rustc flags of the widget's release build (see [`widget`]).
const WIDGET_RUSTFLAGS: &[&str] = &["-Zunstable-options", "-Cpanic=immediate-abort", "-Zlocation-detail=none"];

/// Builds all three.
pub fn all(root: &Path, tools: &Tools) -> Result<()> {
    widget(root, tools)?;
    console(root, tools)?;
    worker(root, tools)
}

/// Classes wasm-bindgen exports that the widget never creates: wasm-streams' stream adapters,
/// linked through leptos → server_fn. Their exports, and the code only they reach, are dropped.
const UNUSED_CLASSES: &[&str] = &["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];

/// cargo build → wasm-bindgen (web target) → unused exports dropped (wasm-metadce) → wasm-opt
/// -Oz → JS glue and stylesheet minified (esbuild). Every step is there for the size budget of
/// the first open (`cargo xtask size`).
///
/// The standard library is compiled with the widget (`-Zbuild-std`) with panics that abort at
/// once (`-Cpanic=immediate-abort`) and without source locations: no panic messages, no
/// formatting code for them, ≈ 11 KB brotli less. These flags are unstable; `RUSTC_BOOTSTRAP`
/// lets the stable toolchain pinned in `rust-toolchain.toml` use them rather than an unpinned
/// nightly (a new toolchain must be checked against them before the pin moves). A panic in the
/// widget was already fatal (panic = "abort"); it now leaves no message in the console. The
/// widget has its own target folder so these flags never meet the worker's build.
pub fn widget(root: &Path, tools: &Tools) -> Result<()> {
    step("building the widget (wasm32, release, std built for size)", || {
        exec(
            Command::new("cargo")
                .args([
                    "build",
                    "--package",
                    "switchboard-widget",
                    "--lib",
                    "--release",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--target-dir",
                    "target/widget",
                    "-Zbuild-std=std,panic_abort",
                ])
                .current_dir(root)
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_ENCODED_RUSTFLAGS", WIDGET_RUSTFLAGS.join("\x1f")),
        )
    })?;
    let out = root.join("public/widget");
    let input = root.join("target/widget/wasm32-unknown-unknown/release/switchboard_widget.wasm");
    let css = root.join("widget/style.css");
    let wasm = out.join("switchboard_widget_bg.wasm");
    let glue = out.join("switchboard_widget.js");
    if up_to_date(&[&input, &css], &wasm) {
        println!("==> widget output in public/widget/ is up to date");
        return Ok(());
    }
    step("generating the widget's JS bindings (wasm-bindgen)", || bindgen(tools, &input, &out))?;
    step("dropping exports the JS glue never calls (wasm-metadce)", || {
        let graph = root.join("target/widget-exports.json");
        drop_unused_exports(tools, &wasm, &glue, &graph)
    })?;
    step("optimising the widget's wasm (wasm-opt -Oz)", || {
        // --converge repeats the passes until the module stops shrinking (≈ 0.3 KB brotli more).
        exec(
            Command::new(&tools.wasm_opt)
                .args(["-Oz", "--converge"])
                .args(WASM_FEATURES)
                .arg(&wasm)
                .arg("-o")
                .arg(&wasm),
        )
    })?;
    step("minifying the widget's JS glue and stylesheet (esbuild)", || {
        let minify = |from: &Path, to: &Path| {
            exec(
                Command::new(&tools.esbuild)
                    .arg(from)
                    .args(["--minify", "--allow-overwrite", "--log-level=warning"])
                    .arg(format!("--outfile={}", to.display())),
            )
        };
        minify(&glue, &glue)?;
        minify(&css, &out.join("widget.css"))
    })
}

/// The agent console and dashboard (`widget/console/`): cargo build → wasm-bindgen (web
/// target) → wasm-opt -Oz, with its pages and stylesheet copied beside. Agents and admins
/// load it, not visitors, so it has no size budget and none of the widget's size steps.
pub fn console(root: &Path, tools: &Tools) -> Result<()> {
    step("building the agent console (wasm32, release)", || {
        exec(Command::new("cargo").current_dir(root).args([
            "build",
            "--package",
            "switchboard-console",
            "--lib",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ]))
    })?;
    let out = root.join("public/console");
    let input = root.join("target/wasm32-unknown-unknown/release/switchboard_console.wasm");
    let wasm = out.join("switchboard_console_bg.wasm");
    let statics = root.join("widget/console/static");
    std::fs::create_dir_all(&out)?;
    for entry in std::fs::read_dir(&statics)? {
        let path = entry?.path();
        std::fs::copy(&path, out.join(path.file_name().context("a file name")?))?;
    }
    if up_to_date(&[&input], &wasm) {
        println!("==> console output in public/console/ is up to date");
        return Ok(());
    }
    step("generating the console's JS bindings (wasm-bindgen)", || bindgen(tools, &input, &out))?;
    step("optimising the console's wasm (wasm-opt -Oz)", || {
        exec(Command::new(&tools.wasm_opt).arg("-Oz").args(WASM_FEATURES).arg(&wasm).arg("-o").arg(&wasm))
    })
}

/// wasm-bindgen for the browser (ES module glue), without names or producers in the wasm.
fn bindgen(tools: &Tools, input: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    exec(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--remove-name-section", "--remove-producers-section"])
            .arg("--out-dir")
            .arg(out)
            .arg(input),
    )
}

/// Removes the exports of [`UNUSED_CLASSES`] from the wasm-bindgen output, so that the code
/// behind them goes too. Their JS classes stay in the glue, unused; the build fails if the
/// glue ever creates one (then the class is used and must leave the list).
fn drop_unused_exports(tools: &Tools, wasm: &Path, glue: &Path, graph: &Path) -> Result<()> {
    let js = std::fs::read_to_string(glue)?;
    if let Some(class) = UNUSED_CLASSES.iter().find(|c| js.contains(&format!("{c}.__wrap("))) {
        bail!("the widget now hands a {class} to JS: remove it from UNUSED_CLASSES in xtask/src/build.rs");
    }
    let prefixes: Vec<String> = UNUSED_CLASSES.iter().map(|c| format!("{}_", c.to_lowercase())).collect();
    let unused = |name: &str| {
        let name = name.strip_prefix("__wbg_").unwrap_or(name);
        prefixes.iter().any(|p| name.starts_with(p.as_str()))
    };
    let exports = export_names(&std::fs::read(wasm)?)?;
    let keep: Vec<&String> = exports.iter().filter(|e| !unused(e)).collect();
    if keep.len() == exports.len() {
        return Ok(());
    }
    // wasm-metadce keeps what the graph's root reaches; an export not in the graph is removed.
    let mut nodes = vec![serde_json::json!({ "name": "js", "root": true, "reaches": keep })];
    nodes.extend(keep.iter().map(|e| serde_json::json!({ "name": e, "export": e })));
    std::fs::write(graph, serde_json::to_string(&nodes)?)?;
    exec(
        Command::new(&tools.wasm_metadce)
            .arg(wasm)
            .arg("--graph-file")
            .arg(graph)
            .args(WASM_FEATURES)
            .arg("-o")
            .arg(wasm)
            // It lists every removed item on stdout.
            .stdout(Stdio::null()),
    )
}

/// The names in a wasm module's export section.
fn export_names(wasm: &[u8]) -> Result<Vec<String>> {
    if !wasm.starts_with(b"\0asm") {
        bail!("not a wasm module");
    }
    let mut module = Bytes { bytes: wasm, at: 8 };
    while module.at < wasm.len() {
        let id = module.byte()?;
        let size = module.leb()? as usize;
        let mut section = Bytes { bytes: module.take(size)?, at: 0 };
        if id != 7 {
            continue;
        }
        let mut names = Vec::new();
        for _ in 0..section.leb()? {
            let len = section.leb()? as usize;
            names.push(String::from_utf8(section.take(len)?.to_vec())?);
            section.byte()?; // kind
            section.leb()?; // index
        }
        return Ok(names);
    }
    Ok(Vec::new())
}

/// A cursor over a wasm module's bytes.
struct Bytes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at + n).context("truncated wasm module")?;
        self.at += n;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number (wasm-ld pads some to five bytes).
    fn leb(&mut self) -> Result<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("malformed LEB128 number in wasm module")
    }
}

/// The standard library the worker's build compiles (see [`worker`]).
const WORKER_BUILD_STD: &str = "-Zbuild-std=std,panic_unwind";

/// rustc flags of the worker's build. Cargo never passes `-Cpanic=unwind` for a profile's
/// `panic = "unwind"` (it is rustc's default, but not the wasm target's), so it is given here;
/// with it rustc also turns on wasm exception handling (`try`/`catch`).
const WORKER_RUSTFLAGS: &[&str] = &["-Cpanic=unwind"];

/// `cargo` with the environment of the worker's build: unstable `-Z` flags
/// allowed on the pinned stable toolchain, as for the widget.
fn unwinding(command: &mut Command) -> &mut Command {
    command.env("RUSTC_BOOTSTRAP", "1").env("CARGO_ENCODED_RUSTFLAGS", WORKER_RUSTFLAGS.join("\x1f"))
}

/// The worker: cargo build → wasm-bindgen (ES module target) → wasm-opt -O1 → our entry module
/// (`edge/js/shim.js`) bundled with the glue by esbuild, into `edge/build/` (`index.js`,
/// `index_bg.wasm`). What worker-build 0.8.7 does for the pinned `worker` crate, with the tools
/// already installed and nothing else: installing worker-build itself took 5–6 minutes of a
/// cold CI run. Skipped when the worker's wasm has not changed since the last bundle.
///
/// Panics unwind in the worker (profile `worker`: the release settings with `panic =
/// "unwind"`), so `edge/src/glue.rs` catches one at the entry point that was called and answers
/// a JSON 500, and the isolate's other requests go on. With `panic = "abort"` a panic trapped
/// and the runtime failed every request in flight on the instance while it instantiated it
/// again. The standard library is compiled with the worker (`-Zbuild-std=std,panic_unwind`; the
/// prebuilt one aborts), unstable flags allowed by `RUSTC_BOOTSTRAP` as for the widget (a new
/// toolchain must be checked against them before the pin moves). The worker has its own target
/// folder, so these flags never meet the console's build.
pub fn worker(root: &Path, tools: &Tools) -> Result<()> {
    let target_dir = root.join("target/worker");
    step("compiling the worker (wasm32, panics unwind, std built with it)", || {
        exec(
            unwinding(Command::new("cargo").current_dir(root))
                .args(["build", "--package", "switchboard-edge", "--lib", "--target", "wasm32-unknown-unknown"])
                .args(["--profile", "worker", WORKER_BUILD_STD, "--target-dir"])
                .arg(&target_dir),
        )
    })?;
    let input = target_dir.join("wasm32-unknown-unknown/worker/switchboard_edge.wasm");
    let shim = root.join("edge/js/shim.js");
    let out = root.join("edge/build");
    if up_to_date(&[&input, &shim, &root.join("edge/wrangler.toml")], &out.join("index.js")) {
        println!("==> worker bundle in edge/build/ is up to date");
        return Ok(());
    }
    let staging = target_dir.join("bundle");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    step("generating the worker's JS bindings (wasm-bindgen, module target)", || {
        exec(
            Command::new(&tools.wasm_bindgen)
                .args(["--target", "module", "--out-name", "index", "--no-typescript"])
                // What the worker crate's entry expects of its glue (as worker-build passes them).
                .args(["--experimental-reset-state-function", "--force-enable-abort-handler"])
                .arg("--out-dir")
                .arg(&staging)
                .arg(&input),
        )
    })?;
    let wasm = staging.join("index_bg.wasm");
    step("optimising the worker's wasm (wasm-opt -O1, names dropped)", || {
        // -O1: rustc's output is optimised already, and measured on this worker -O1 took 27 s
        // against 116 s for -O and came out smaller compressed (932 against 981 KB gzip, the
        // size Cloudflare counts; 3.26 against 3.11 MB raw). Exception handling for the
        // unwinding panics; the other features as for the widget. Without --debuginfo the
        // function names go (a panic's location still reaches the log without them).
        exec(
            Command::new(&tools.wasm_opt)
                .arg("-O1")
                .args(WASM_FEATURES)
                .arg("--enable-exception-handling")
                .arg(&wasm)
                .arg("-o")
                .arg(&wasm),
        )
    })?;
    step("bundling the worker's entry module (esbuild)", || {
        let glue = std::fs::read_to_string(staging.join("index.js"))?;
        let entry = worker_entry(&std::fs::read_to_string(&shim)?, &glue)?;
        std::fs::write(staging.join("shim.js"), entry)?;
        exec(
            Command::new(&tools.esbuild)
                .current_dir(&staging)
                .args(["--external:./index_bg.wasm", "--external:cloudflare:*", "--format=esm", "--bundle"])
                .args(["./shim.js", "--outfile=index.js", "--allow-overwrite", "--minify", "--log-level=warning"]),
        )?;
        // wasm-bindgen imports the module in the source phase; wrangler takes a plain import
        // of a .wasm file as the compiled module.
        let bundled = std::fs::read_to_string(staging.join("index.js"))?.replace("import source ", "import ");
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join("index.js"), bundled)?;
        // wasm-opt drops the names without --debuginfo; this keeps it so should that change.
        std::fs::write(out.join("index_bg.wasm"), without_custom_section(&std::fs::read(&wasm)?, "name")?)?;
        Ok(())
    })
}

/// Functions of the glue that are not event handlers.
const SYSTEM_EXPORTS: &[&str] = &["__wbg_reset_state", "__worker_init_state"];

/// The entry module: `shim` with a handler line per event function the glue exports and a
/// proxy per exported class (the Durable Objects and the worker crate's own classes).
fn worker_entry(shim: &str, glue: &str) -> Result<String> {
    let mut handlers = String::new();
    let mut classes = String::new();
    for decl in export_decls(glue) {
        let function = decl.strip_prefix("export function").or_else(|| decl.strip_prefix("export async function"));
        let name = match function {
            Some(rest) => rest.split('(').next().map(str::trim),
            None => decl.strip_prefix("export {").and_then(|rest| {
                let (_, renamed) = rest.split_once(" as ")?;
                renamed.split('}').next().map(str::trim)
            }),
        };
        if let Some(name) = name.filter(|n| !n.is_empty() && !SYSTEM_EXPORTS.contains(n)) {
            handlers.push_str(&match name {
                "fetch" | "queue" | "scheduled" | "email" | "connect" => format!(
                    "Entrypoint.prototype.{name} = function {name}(arg) {{\n  return exports.{name}.call(this, arg, this.env, this.ctx);\n}};\n"
                ),
                _ => format!("Entrypoint.prototype.{name} = exports.{name};\n"),
            });
        } else if let Some(class) = decl.strip_prefix("export class ").and_then(|rest| rest.split('{').next()) {
            let class = class.split_whitespace().next().unwrap_or_default();
            classes.push_str(&format!("export const {class} = new Proxy(exports.{class}, classProxyHooks);\n"));
        }
    }
    if !handlers.contains("prototype.fetch") {
        bail!("the worker's glue exports no fetch handler: is #[event(fetch)] still in edge/src/glue.rs?");
    }
    const LINE: &str = "\n$HANDLERS\n";
    if shim.matches(LINE).count() != 1 {
        bail!("edge/js/shim.js must have one line $HANDLERS, where the event handlers go");
    }
    Ok(shim.replace(LINE, &format!("\n{handlers}")) + &classes)
}

/// Each `export` declaration of a module, from the keyword on.
fn export_decls(module: &str) -> impl Iterator<Item = &str> {
    module.match_indices("export ").filter_map(move |(i, _)| {
        let boundary = module[..i].chars().next_back().is_none_or(|c| c.is_whitespace() || c == ';' || c == '}');
        boundary.then(|| &module[i..])
    })
}

/// The module without its custom section `name` (if it has one).
fn without_custom_section(wasm: &[u8], name: &str) -> Result<Vec<u8>> {
    if !wasm.starts_with(b"\0asm") {
        bail!("not a wasm module");
    }
    let mut out = wasm[..8].to_vec();
    let mut module = Bytes { bytes: wasm, at: 8 };
    while module.at < wasm.len() {
        let start = module.at;
        let id = module.byte()?;
        let size = module.leb()? as usize;
        let body = module.take(size)?;
        if id == 0 {
            let mut section = Bytes { bytes: body, at: 0 };
            let len = section.leb()? as usize;
            if section.take(len)? == name.as_bytes() {
                continue;
            }
        }
        out.extend_from_slice(&wasm[start..module.at]);
    }
    Ok(out)
}

/// True when `output` exists and is newer than every input.
fn up_to_date(inputs: &[&Path], output: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match modified(output) {
        Some(out) => inputs.iter().all(|i| modified(i).is_some_and(|t| t < out)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{export_names, without_custom_section};

    #[test]
    fn reads_export_names_past_other_sections() {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // A custom section whose size is padded to five bytes, as wasm-ld writes some.
        wasm.extend([0, 0x83, 0x80, 0x80, 0x80, 0x00, 2, b'h', b'i']);
        // Exports: "mount" (function 3), "memory" (memory 0).
        wasm.extend([7, 18, 2, 5, b'm', b'o', b'u', b'n', b't', 0, 3, 6, b'm', b'e', b'm', b'o', b'r', b'y', 2, 0]);
        assert_eq!(export_names(&wasm).unwrap(), ["mount", "memory"]);
        let mut named = wasm.clone();
        named.extend([0, 6, 4, b'n', b'a', b'm', b'e', 9]);
        assert_eq!(without_custom_section(&named, "name").unwrap(), wasm);
        assert_eq!(
            without_custom_section(&wasm, "hi").unwrap(),
            b"\0asm\x01\0\0\0".iter().copied().chain(wasm[17..].iter().copied()).collect::<Vec<u8>>()
        );
        assert!(export_names(b"not wasm").is_err());
        assert!(export_names(&wasm[..wasm.len() - 3]).is_err());
    }
}
