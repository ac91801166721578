//! `cargo xtask size`: raw, gzip -9 and brotli (q11) sizes of what is served.

use anyhow::{Result, bail};
use std::io::Write;
use std::path::Path;

/// What a visitor downloads on the first open of the widget, then the worker bundle, then the
/// agent console (not part of the widget's budget).
const VISITOR_FILES: &[&str] = &[
    "public/embed.js",
    "public/widget/switchboard_widget.js",
    "public/widget/switchboard_widget_bg.wasm",
    "public/widget/widget.css",
];
const WORKER_FILES: &[&str] = &["edge/build/index.js", "edge/build/index_bg.wasm"];
/// What an agent or admin loads for `/console/`: apart from the widget's budget.
const CONSOLE_FILES: &[&str] = &[
    "public/console/switchboard_console.js",
    "public/console/switchboard_console_bg.wasm",
    "public/console/console.css",
];

/// The budgets `run` enforces, in bytes (1 KB = 1000 bytes, as printed): what a visitor
/// downloads on the widget's first open (brotli, issue 5), the loader alone (brotli), and the
/// worker bundle (gzip, as Cloudflare counts it; issue 4).
const WIDGET_BROTLI_BUDGET: usize = 80_000;
const LOADER_BROTLI_BUDGET: usize = 3_000;
const WORKER_GZIP_BUDGET: usize = 1_000_000;

/// Prints every section and fails when a budget is exceeded.
pub fn run(root: &Path) -> Result<()> {
    let sections = [
        ("widget (first open)", VISITOR_FILES),
        ("worker bundle", WORKER_FILES),
        ("agent console and dashboard (/console/, not in the widget's budget)", CONSOLE_FILES),
    ];
    let mut over = Vec::new();
    let mut check = |what: &str, size: usize, budget: usize, unit: &str| {
        if size > budget {
            over.push(format!("{what} is {} {unit}, over its budget of {}", kb(size), kb(budget)));
        }
    };
    let all: Vec<&str> = sections.iter().flat_map(|(_, files)| files.iter().copied()).collect();
    let measured = measure(root, &all)?;
    for (title, files) in sections {
        println!("{title}:");
        println!("  {:<44} {:>10} {:>10} {:>10}", "file", "raw", "gzip -9", "brotli");
        let mut total = [0usize; 3];
        for file in files {
            let sizes = measured[file];
            println!("  {file:<44} {:>10} {:>10} {:>10}", kb(sizes[0]), kb(sizes[1]), kb(sizes[2]));
            if *file == "public/embed.js" {
                check("the loader (embed.js)", sizes[2], LOADER_BROTLI_BUDGET, "brotli");
            }
            for (t, s) in total.iter_mut().zip(sizes) {
                *t += s;
            }
        }
        println!("  {:<44} {:>10} {:>10} {:>10}\n", "total", kb(total[0]), kb(total[1]), kb(total[2]));
        if files == VISITOR_FILES {
            check("the widget's first open", total[2], WIDGET_BROTLI_BUDGET, "brotli");
        } else if files == WORKER_FILES {
            check("the worker bundle", total[1], WORKER_GZIP_BUDGET, "gzip");
        }
    }
    if !over.is_empty() {
        bail!("{}", over.join("\n"));
    }
    println!(
        "Within budget: widget ≤ {} brotli (embed.js ≤ {}), worker ≤ {} gzip.",
        kb(WIDGET_BROTLI_BUDGET),
        kb(LOADER_BROTLI_BUDGET),
        kb(WORKER_GZIP_BUDGET)
    );
    Ok(())
}

/// Raw, gzip and brotli sizes of each file, compressed on as many threads as the machine has
/// cores (brotli q11 of the worker's few MB is most of the time).
fn measure<'f>(root: &Path, files: &[&'f str]) -> Result<std::collections::HashMap<&'f str, [usize; 3]>> {
    let mut contents = Vec::new();
    for file in files {
        let Ok(bytes) = std::fs::read(root.join(file)) else {
            bail!("{file} is missing: run `cargo xtask build` first");
        };
        contents.push((*file, bytes));
    }
    // The largest first, so that no thread is left with one of them at the end.
    contents.sort_by_key(|(_, bytes)| std::cmp::Reverse(bytes.len()));
    let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(std::collections::HashMap::new());
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    while let Some((file, bytes)) =
                        contents.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        let sizes = [bytes.len(), gzip(bytes)?, brotli(bytes)?];
                        results.lock().map_err(|_| anyhow::anyhow!("a size thread panicked"))?.insert(*file, sizes);
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| anyhow::anyhow!("a size thread panicked"))??;
        }
        Ok(())
    })?;
    results.into_inner().map_err(|_| anyhow::anyhow!("a size thread panicked"))
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn gzip(bytes: &[u8]) -> Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn brotli(bytes: &[u8]) -> Result<usize> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out.len())
}
