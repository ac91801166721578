//! `switchboard`: the command line for agent authors.
//!
//! ```text
//! switchboard validate <agent.json>
//! switchboard train <agent.json> -o <model.bin>
//! switchboard test <agent.json> [--folds 5] [--misclassified <out.json>]
//! switchboard test-conversations <dir> --agent <agent.json>
//! switchboard import cx <intent.json>... --webhook <url> -o <agent.json>
//! switchboard import rasa <nlu.yml> --webhook <url> -o <agent.json>
//! switchboard chat <agent.json> [--webhook-url <url>] [--offline] [--channel <name>]
//! switchboard patch <agent.json> <patch.json> [-o <out>]
//! ```
//!
//! Agent files ending in `.yaml` or `.yml` are read as YAML, others as JSON.

use anyhow::{Context, Result, bail};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use switchboard_dialog::agent::Agent;
use switchboard_edge::golden;

const USAGE: &str = "usage:
  switchboard validate <agent.json>
  switchboard train <agent.json> -o <model.bin>
  switchboard test <agent.json> [--folds 5] [--misclassified <out.json>]
  switchboard test-conversations <dir> --agent <agent.json>
  switchboard import cx <intent.json>... --webhook <url> -o <agent.json>
  switchboard import rasa <nlu.yml> --webhook <url> -o <agent.json>
  switchboard chat <agent.json> [--webhook-url <url>] [--offline] [--channel <name>]
  switchboard patch <agent.json> <patch.json> [-o <out>]

chat: talk to the agent in the terminal (/state, /reset, /help, /quit; end of input leaves too).
  Webhooks are POSTed to their http(s) URL; --webhook-url <url> sends every webhook there;
  builtin:demo-orders is answered in process, as the worker does; with --offline none is called
  and the agent answers as if it failed. --channel voice|whatsapp|… shows that channel's messages.
patch: add the training phrases of a patch file (exported by the analytics dashboard:
  [{\"intent\": …, \"phrase\": …}]) to the agent file, validate the result as `validate` does, and
  write it to <out> (by default back to the agent file); an invalid result writes nothing.";

mod chat;
mod crossval;
mod patch;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<bool> {
    match args.first().map(String::as_str) {
        Some("validate") => {
            let path = args.get(1).context(USAGE)?;
            let agent = load(Path::new(path))?;
            let phrases: usize = agent.intents.iter().map(|i| i.training_phrases.len()).sum();
            println!(
                "{path}: ok ({} intents, {phrases} training phrases, {} webhooks)",
                agent.intents.len(),
                agent.webhooks.len()
            );
            Ok(true)
        }
        Some("train") => {
            let path = args.get(1).context(USAGE)?;
            let out = flag(&args, "-o").context(USAGE)?;
            let started = std::time::Instant::now();
            let agent = load(Path::new(path))?;
            let bytes = agent.classifier().to_bytes();
            std::fs::write(out, &bytes).with_context(|| format!("cannot write {out}"))?;
            println!(
                "{out}: {} intents, {} phrases, {:.1} KB, trained in {:.2} s",
                agent.intents.len(),
                agent.training_examples().len(),
                bytes.len() as f64 / 1000.0,
                started.elapsed().as_secs_f64()
            );
            Ok(true)
        }
        Some("test") => {
            let path = args.get(1).context(USAGE)?;
            let folds = flag(&args, "--folds").map(|f| f.parse()).transpose().context("--folds takes a number")?;
            let agent = load(Path::new(path))?;
            let report = crossval::run(&agent, folds.unwrap_or(5))?;
            print!("{}", report.summary());
            if let Some(out) = flag(&args, "--misclassified") {
                std::fs::write(out, report.misclassified_json()).with_context(|| format!("cannot write {out}"))?;
                println!("misclassified examples written to {out}");
            }
            Ok(true)
        }
        Some("import") => {
            let webhook = flag(&args, "--webhook")
                .context("--webhook <url> is required: imported intents are fulfilled by it")?;
            let out = flag(&args, "-o").context(USAGE)?;
            let inputs: Vec<&String> = args[2..]
                .iter()
                .enumerate()
                .filter(|(i, a)| {
                    !a.starts_with('-') && (*i == 0 || !["--webhook", "-o"].contains(&args[2 + i - 1].as_str()))
                })
                .map(|(_, a)| a)
                .collect();
            let read = |f: &String| std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"));
            let name = Path::new(out).file_stem().map_or("imported".into(), |s| s.to_string_lossy().into_owned());
            let text = match args.get(1).map(String::as_str) {
                Some("cx") => {
                    let files = inputs.iter().map(|f| Ok(((*f).clone(), read(f)?))).collect::<Result<Vec<_>>>()?;
                    switchboard_dialog::import::from_cx(&name, webhook, &files)?
                }
                Some("rasa") => {
                    let file = inputs.first().context(USAGE)?;
                    switchboard_dialog::import::from_rasa(&name, webhook, file, &read(file)?)?
                }
                _ => bail!("{USAGE}"),
            };
            std::fs::write(out, text).with_context(|| format!("cannot write {out}"))?;
            println!("{out}: written from {} file(s); check it with `switchboard validate {out}`", inputs.len());
            Ok(true)
        }
        Some("chat") => {
            let path = args.get(1).filter(|a| !a.starts_with('-')).context(USAGE)?;
            let url = flag(&args, "--webhook-url").cloned();
            if let Some(url) = url.as_deref().filter(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
                bail!("--webhook-url takes an http:// or https:// URL, not '{url}'");
            }
            let agent = load(Path::new(path))?;
            let http = chat::Http::new(&agent, url, args.iter().any(|a| a == "--offline"));
            // Unique enough for a webhook that keys state by session: start time and process.
            let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let session = format!("cli-{}-{}", started.as_secs(), std::process::id());
            let interactive = std::io::stdin().is_terminal();
            let channel = flag(&args, "--channel").map_or("web", String::as_str);
            if !switchboard_dialog::response::CHANNELS.contains(&channel) {
                bail!("--channel takes one of {}, not '{channel}'", switchboard_dialog::response::CHANNELS.join(", "));
            }
            chat::Chat::new(&agent, session, http)
                .interactive(interactive)
                .channel(channel)
                .run(std::io::stdin().lock(), std::io::stdout())?;
            Ok(true)
        }
        Some("patch") => {
            let (Some(path), Some(patch_path)) = (args.get(1), args.get(2)) else { bail!("{USAGE}") };
            let out = flag(&args, "-o").unwrap_or(path);
            let read = |f: &String| std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"));
            let additions = patch::read_patch(&read(patch_path)?).with_context(|| patch_path.clone())?;
            let patched = patch::apply(&read(path)?, &additions).with_context(|| path.clone())?;
            let agent = parse(Path::new(path), &patched.text)
                .context("the patched agent does not validate; nothing was written")?;
            std::fs::write(out, &patched.text).with_context(|| format!("cannot write {out}"))?;
            for p in &patched.added {
                println!("added     {:?} to {}", p.phrase, p.intent);
            }
            for p in &patched.skipped {
                println!("skipped   {:?}: already a training phrase of {}", p.phrase, p.intent);
            }
            let phrases: usize = agent.intents.iter().map(|i| i.training_phrases.len()).sum();
            println!("{out}: ok ({} intents, {phrases} training phrases)", agent.intents.len());
            Ok(true)
        }
        Some("test-conversations") => {
            let dir = PathBuf::from(args.get(1).context(USAGE)?);
            let agent_path = flag(&args, "--agent").context(USAGE)?;
            let agent = load(Path::new(agent_path))?;
            test_conversations(&agent, &dir)
        }
        _ => bail!("{USAGE}"),
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1))
}

/// Reads and validates an agent, naming the file in errors.
fn load(path: &Path) -> Result<Agent> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(path, &text)
}

/// Validates the agent `text` of the file `path` (YAML for `.yaml`/`.yml`, else JSON).
fn parse(path: &Path, text: &str) -> Result<Agent> {
    let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    let agent = if yaml { Agent::from_yaml(text) } else { Agent::from_json(text) };
    agent.with_context(|| format!("{}: invalid agent", path.display()))
}

fn test_conversations(agent: &Agent, dir: &Path) -> Result<bool> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conv"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no .conv transcripts in {}", dir.display());
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        let failures = golden::run(agent, &text);
        if failures.is_empty() {
            passed += 1;
            println!("ok    {}", file.display());
        } else {
            failed += 1;
            println!("FAIL  {}", file.display());
            for f in failures {
                println!("  {}:{}: {}", file.display(), f.line, f.message);
            }
        }
    }
    println!("conversations: {passed} passed, {failed} failed");
    Ok(failed == 0)
}
