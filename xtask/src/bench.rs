//! `cargo xtask bench`: the worker under a bounded load in local workerd (`wrangler dev`) on
//! loopback, printing throughput and latency. Figures, not assertions.
//!
//! Two loads:
//!
//! - **Timed** (the default): each of `--clients N` (default 8) clients opens its own
//!   conversation (so its own user and Durable Object) and sends messages back to back over a
//!   keep-alive connection for `--seconds S` (default 20).
//! - **Conversations**: `--conversations C --turns T` (e.g. 200 × 50): C clients at once, each
//!   its own thread and connection, each sending its T turns in order and waiting for every
//!   answer. Afterwards each conversation's history (`GET /v1/conversations/{id}/messages`) is
//!   read back and compared with what was sent: a turn answered 200 whose user message is not
//!   there is *lost*, a user message stored twice is *duplicated*; a turn that failed but was
//!   stored anyway is counted apart (the answer was lost, not the turn).
//!
//! Every request is a full turn: token check, the user's object, KV reads and writes, the
//! engine, analytics. Options for both: `--hog N` starts N CPU-bound processes beside the load
//! (busy `sh` loops, stopped by PID at the end), the way a busy machine is; `--json` also prints
//! the figures as one JSON object (the last line); `--no-build` serves the worker already in
//! `edge/build/`; `--debug` runs wrangler with `--log-level debug`; `--in-tree` serves the
//! working tree itself instead of a copy; `--disk` keeps wrangler's local KV and object storage
//! on disk (under `target/bench-state/`) instead of in memory.
//!
//! Where the local storage lives matters: miniflare emulates KV and Durable Object storage with
//! SQLite on the thread that runs the worker, and commits with `fsync`, hundreds a second under
//! the conversations load. On disk every `fsync` stalls that thread (and with it every request)
//! for as long as the disk takes, which measures the disk and whatever else writes to it, not
//! the worker; on Cloudflare storage is a remote service, off the worker's thread. So by default
//! the state lives in tmpfs (`/dev/shm/switchboard-bench-<pid>`, removed afterwards) when the
//! machine has one; `--disk` measures the other way, and the report says which it was.
//!
//! By default wrangler serves a **copy** of the built worker and `public/` (in
//! `target/bench-state/root/`): `wrangler dev` watches its bundle and its assets folder, and
//! on any change there it restarts workerd, failing every request in flight with `503 Your
//! worker restarted mid-request` (README, Performance). A build run beside the bench would
//! otherwise be measured as the worker's errors.
//!
//! The figures also say what the machine was doing: the load average before and after, how
//! often wrangler reloaded the worker (its log), how many workerd processes came and went, and
//! the largest resident memory of one (sampled from `/proc` every 250 ms).

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xtask::wrangler::DevServer;

const MESSAGES: &[&str] = &[
    "Where is my order?",
    "123456",
    "I want to book a repair tomorrow at 3pm",
    "my lamp doesn't work",
    "yes",
    "no",
    "what lamps do you sell?",
    "thanks",
];

/// What `cargo xtask bench` was asked for.
struct Options {
    clients: u64,
    seconds: u64,
    /// `Some((conversations, turns))`: the conversations load.
    conversations: Option<(u64, u64)>,
    hogs: u64,
    json: bool,
    build: bool,
    debug: bool,
    in_tree: bool,
    disk: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        const FLAGS: &[&str] = &["--json", "--no-build", "--debug", "--in-tree", "--disk"];
        const VALUED: &[&str] = &["--clients", "--seconds", "--conversations", "--turns", "--hog"];
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if VALUED.contains(&arg.as_str()) {
                rest.next();
            } else if !FLAGS.contains(&arg.as_str()) {
                bail!("unknown bench option '{arg}'; expected {} or {}", VALUED.join(" N, "), FLAGS.join(", "));
            }
        }
        let number = |name: &str| -> Result<Option<u64>> {
            match args.iter().position(|a| a == name) {
                Some(i) => {
                    let value = args.get(i + 1).with_context(|| format!("{name} takes a number"))?;
                    Ok(Some(value.parse().with_context(|| format!("{name} takes a number, not '{value}'"))?))
                }
                None => Ok(None),
            }
        };
        let has = |name: &str| args.iter().any(|a| a == name);
        let conversations = match (number("--conversations")?, number("--turns")?) {
            (Some(c), turns) => Some((c.max(1), turns.unwrap_or(50).max(1))),
            (None, Some(_)) => bail!("--turns goes with --conversations (e.g. --conversations 200 --turns 50)"),
            (None, None) => None,
        };
        Ok(Options {
            clients: number("--clients")?.unwrap_or(8).max(1),
            seconds: number("--seconds")?.unwrap_or(20).max(1),
            conversations,
            hogs: number("--hog")?.unwrap_or(0),
            json: has("--json"),
            build: !has("--no-build"),
            debug: has("--debug"),
            in_tree: has("--in-tree"),
            disk: has("--disk"),
        })
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    if options.build {
        let tools = crate::tools::ensure(root)?;
        crate::build::all(root, &tools)?;
    }
    let state = root.join("target/bench-state");
    let _ = std::fs::remove_dir_all(&state);
    std::fs::create_dir_all(&state)?;
    let served = if options.in_tree { root.to_path_buf() } else { snapshot(root, &state.join("root"))? };
    let storage = Storage::new(&state, options.disk)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let inspector = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let unlimited = || "1000000".to_string();
    let server = DevServer {
        port,
        inspector_port: inspector,
        persist_to: &storage.path,
        config_home: &state.join("home"),
        token_secret: "bench-token-secret-of-thirty-two-bytes",
        fulfillment_url: None,
        vars: vec![
            ("USER_RATE_PER_MINUTE", unlimited()),
            ("IP_RATE_PER_MINUTE", unlimited()),
            ("IP_CONVERSATIONS_PER_HOUR", unlimited()),
            ("HANDOFFS_PER_IP", unlimited()),
        ],
    };
    let log_path = state.join("wrangler.log");
    let log = std::fs::File::create(&log_path)?;
    let mut command = server.command(&served);
    if options.debug {
        command.args(["--log-level", "debug"]);
    }
    // Its own process group: wrangler starts node and workerd children, all stopped together.
    let mut child =
        command.stdout(log.try_clone()?).stderr(log).process_group(0).spawn().context("starting wrangler")?;
    let group = child.id();
    let result = wait_healthy(port).and_then(|()| {
        let hogs = Hogs::start(options.hogs)?;
        let machine = Machine::start(group);
        let figures = match options.conversations {
            Some((conversations, turns)) => conversations_load(port, conversations, turns),
            None => timed_load(port, options.clients, options.seconds),
        };
        let processes = machine.stop();
        drop(hogs);
        Ok((figures?, processes))
    });
    stop_group(&mut child, group);
    let (figures, processes) = result?;
    let reloads = std::fs::read_to_string(&log_path).unwrap_or_default().matches("Reloading local server").count();
    report(&options, &figures, &processes, reloads, storage.kind());
    Ok(())
}

/// Where wrangler keeps its local KV and object storage for one run (see the module's doc).
struct Storage {
    path: std::path::PathBuf,
    /// A tmpfs folder of this run, removed when the run ends.
    in_memory: bool,
}

impl Storage {
    fn new(state: &Path, disk: bool) -> Result<Self> {
        let shm = Path::new("/dev/shm");
        if !disk && shm.is_dir() {
            let path = shm.join(format!("switchboard-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            if std::fs::create_dir_all(&path).is_ok() {
                return Ok(Storage { path, in_memory: true });
            }
        }
        let path = state.join("kv");
        std::fs::create_dir_all(&path)?;
        Ok(Storage { path, in_memory: false })
    }

    fn kind(&self) -> &'static str {
        if self.in_memory { "tmpfs" } else { "disk" }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if self.in_memory {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Stops wrangler's process group: TERM, then KILL after 10 s (a wrangler whose runtime died
/// may never exit on TERM).
fn stop_group(child: &mut Child, group: u32) {
    let signal = |name: &str| Command::new("kill").args([name, "--", &format!("-{group}")]).status();
    let _ = signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = signal("-KILL");
    let _ = child.wait();
}

/// Copies what `wrangler dev` serves (its config, the built worker, `public/`) to `to`, with
/// `node_modules` linked, so that builds in the working tree do not reload the benched worker.
fn snapshot(root: &Path, to: &Path) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(to.join("edge"))?;
    std::fs::copy(root.join("edge/wrangler.toml"), to.join("edge/wrangler.toml"))?;
    copy_tree(&root.join("edge/build"), &to.join("edge/build")).context("copying edge/build (build first)")?;
    copy_tree(&root.join("public"), &to.join("public"))?;
    std::os::unix::fs::symlink(root.join("node_modules"), to.join("node_modules"))?;
    Ok(to.to_path_buf())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn wait_healthy(port: u16) -> Result<()> {
    let started = Instant::now();
    while !matches!(request(port, &mut None, "GET", "/v1/health", None, ""), Ok((200, _))) {
        if started.elapsed() > Duration::from_secs(90) {
            bail!("wrangler dev did not answer within 90 s (see target/bench-state/wrangler.log)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// What a load measured.
#[derive(Default)]
struct Figures {
    /// Milliseconds of the turns answered 200.
    times: Vec<f64>,
    /// Turns attempted (answered or not).
    attempted: usize,
    /// Failures by kind: status and the first bytes of the body, or the transport error.
    errors: BTreeMap<String, usize>,
    seconds: f64,
    /// The history check of the conversations load; `None` for the timed load.
    history: Option<Reconciled>,
    /// When each failure came, seconds after the load began (conversations load).
    error_at_s: Vec<f64>,
}

/// The timed load: `clients` conversations, messages back to back for `seconds`.
fn timed_load(port: u16, clients: u64, seconds: u64) -> Result<Figures> {
    let title =
        format!("{clients} clients, {seconds} s, each its own conversation, messages back to back (127.0.0.1:{port})");
    println!("==> {title}");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || -> Result<(Vec<f64>, Vec<String>)> {
                let mut connection = None;
                let opened = open_conversation(port, &mut connection)?;
                let path = format!("/v1/conversations/{}/messages", opened.id);
                let (mut times, mut errors) = (Vec::new(), Vec::new());
                for text in MESSAGES.iter().cycle() {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let body = serde_json::json!({ "text": text }).to_string();
                    let sent = Instant::now();
                    match request(port, &mut connection, "POST", &path, Some(&opened.token), &body) {
                        Ok((200, _)) => times.push(sent.elapsed().as_secs_f64() * 1e3),
                        answer => errors.push(error_kind(&answer)),
                    }
                }
                Ok((times, errors))
            })
        })
        .collect();
    let mut figures = Figures::default();
    for worker in workers {
        let (times, errors) = worker.join().map_err(|_| anyhow::anyhow!("a client panicked"))??;
        figures.attempted += times.len() + errors.len();
        figures.times.extend(times);
        for kind in errors {
            *figures.errors.entry(kind).or_default() += 1;
        }
    }
    figures.seconds = started.elapsed().as_secs_f64().max(seconds as f64);
    Ok(figures)
}

/// One turn of the conversations load, as the client saw it.
struct Sent {
    text: &'static str,
    /// Answered 200.
    answered: bool,
}

/// One conversation of the conversations load.
struct Conversation {
    opened: Option<Opened>,
    sent: Vec<Sent>,
    times: Vec<f64>,
    errors: Vec<String>,
    /// When each failure came, seconds after the load began.
    error_at_s: Vec<f64>,
}

/// The conversations load: `conversations` clients at once, `turns` turns each, in order.
fn conversations_load(port: u16, conversations: u64, turns: u64) -> Result<Figures> {
    let title = format!(
        "{conversations} conversations × {turns} turns at once, each its own client, turns in order (127.0.0.1:{port})"
    );
    println!("==> {title}");
    let started = Instant::now();
    let clients: Vec<_> = (0..conversations)
        .map(|_| {
            std::thread::Builder::new().stack_size(256 * 1024).spawn(move || {
                let mut connection = None;
                let mut conversation = Conversation {
                    opened: None,
                    sent: Vec::new(),
                    times: Vec::new(),
                    errors: Vec::new(),
                    error_at_s: Vec::new(),
                };
                match open_conversation(port, &mut connection) {
                    Ok(opened) => conversation.opened = Some(opened),
                    Err(e) => {
                        conversation.errors.push(format!("open: {e}"));
                        return conversation;
                    }
                }
                let Some(opened) = &conversation.opened else { return conversation };
                let path = format!("/v1/conversations/{}/messages", opened.id);
                for text in MESSAGES.iter().cycle().take(turns as usize) {
                    let body = serde_json::json!({ "text": text }).to_string();
                    let sent = Instant::now();
                    let answer = request(port, &mut connection, "POST", &path, Some(&opened.token), &body);
                    let answered = matches!(answer, Ok((200, _)));
                    if answered {
                        conversation.times.push(sent.elapsed().as_secs_f64() * 1e3);
                    } else {
                        conversation.errors.push(error_kind(&answer));
                        conversation.error_at_s.push(started.elapsed().as_secs_f64());
                    }
                    conversation.sent.push(Sent { text, answered });
                }
                conversation
            })
        })
        .collect::<std::io::Result<_>>()?;
    let mut done = Vec::new();
    for client in clients {
        done.push(client.join().map_err(|_| anyhow::anyhow!("a client panicked"))?);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("    reading back {} histories", done.len());
    let history = check_histories(port, &done)?;
    let mut figures = Figures { seconds, history: Some(history), ..Figures::default() };
    for conversation in done {
        figures.attempted += conversation.sent.len();
        figures.times.extend(conversation.times);
        figures.error_at_s.extend(conversation.error_at_s);
        for kind in conversation.errors {
            *figures.errors.entry(kind).or_default() += 1;
        }
    }
    Ok(figures)
}

/// Reads every conversation's history (a few at a time) and reconciles it with what was sent.
fn check_histories(port: u16, conversations: &[Conversation]) -> Result<Reconciled> {
    let next = AtomicU64::new(0);
    let total = Mutex::new(Reconciled::default());
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let mut connection = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(conversation) = conversations.get(i) else { break };
                    let Some(opened) = &conversation.opened else { continue };
                    let path = format!("/v1/conversations/{}/messages", opened.id);
                    let stored = match request(port, &mut connection, "GET", &path, Some(&opened.token), "") {
                        Ok((200, body)) => user_messages(&body),
                        answer => Err(anyhow::anyhow!("{}", error_kind(&answer))),
                    };
                    let mut total = total.lock().unwrap_or_else(|e| e.into_inner());
                    match stored {
                        Ok((texts, count)) => {
                            total.add(&reconcile(&conversation.sent, &texts));
                            total.full_histories += usize::from(count >= HISTORY_LIMIT);
                        }
                        Err(e) => {
                            total.unreadable += 1;
                            total.lost += conversation.sent.iter().filter(|s| s.answered).count();
                            eprintln!("    history of conversation {i} unreadable: {e}");
                        }
                    }
                }
            });
        }
    });
    Ok(total.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// Messages a conversation's history keeps (`Config::history_limit` in the edge): a history
/// that long may have dropped its first turns, and the check cannot tell those from lost ones.
const HISTORY_LIMIT: usize = 200;

/// The user messages' texts of a history page, in order, and how many messages it holds.
fn user_messages(body: &str) -> Result<(Vec<String>, usize)> {
    let history: serde_json::Value = serde_json::from_str(body).context("a history")?;
    let messages = history["messages"].as_array().context("a history's messages")?;
    let texts = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    Ok((texts, messages.len()))
}

/// What the histories say about the turns sent.
#[derive(Default, Debug, PartialEq)]
struct Reconciled {
    /// Turns answered 200 whose user message is not in the history.
    lost: usize,
    /// User messages in the history beyond those sent (a turn stored twice).
    duplicated: usize,
    /// Turns that failed (an error answer) but were stored all the same.
    stored_after_error: usize,
    /// Histories that could not be read (their answered turns count as lost).
    unreadable: usize,
    /// Histories at the history limit (first turns may have been dropped).
    full_histories: usize,
}

impl Reconciled {
    fn add(&mut self, other: &Reconciled) {
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.stored_after_error += other.stored_after_error;
        self.unreadable += other.unreadable;
        self.full_histories += other.full_histories;
    }
}

/// Lines up the turns sent (in order) with the user messages stored (in order): the longest
/// common subsequence, matching answered turns before failed ones (the texts repeat, so a
/// failed turn's text may also be a later answered turn's).
fn reconcile(sent: &[Sent], stored: &[String]) -> Reconciled {
    let weight = |s: &Sent| if s.answered { 1 + sent.len() } else { 1 };
    let (n, m) = (sent.len(), stored.len());
    // best[i][j]: the best score of sent[i..] against stored[j..].
    let mut best = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let matched = if sent[i].text == stored[j] { weight(&sent[i]) + best[i + 1][j + 1] } else { 0 };
            best[i][j] = matched.max(best[i + 1][j]).max(best[i][j + 1]);
        }
    }
    let (mut i, mut j, mut matched) = (0, 0, 0);
    let mut result = Reconciled::default();
    while i < n && j < m {
        if sent[i].text == stored[j] && best[i][j] == weight(&sent[i]) + best[i + 1][j + 1] {
            result.stored_after_error += usize::from(!sent[i].answered);
            matched += 1;
            i += 1;
            j += 1;
        } else if best[i][j] == best[i + 1][j] {
            result.lost += usize::from(sent[i].answered);
            i += 1;
        } else {
            j += 1;
        }
    }
    result.lost += sent[i..].iter().filter(|s| s.answered).count();
    result.duplicated = m - matched;
    result
}

/// A conversation the bench opened.
struct Opened {
    id: String,
    token: String,
}

fn open_conversation(port: u16, connection: &mut Option<BufReader<TcpStream>>) -> Result<Opened> {
    let (status, body) = request(port, connection, "POST", "/v1/conversations", None, r#"{"channel":"web"}"#)?;
    anyhow::ensure!(status == 201, "{status} {}", first_bytes(&body));
    let created: serde_json::Value = serde_json::from_str(&body)?;
    Ok(Opened {
        id: created["conversation_id"].as_str().context("conversation_id")?.to_owned(),
        token: created["token"].as_str().context("token")?.to_owned(),
    })
}

/// How a failed request is counted: its status and the first bytes of its body, or the
/// transport error.
fn error_kind(answer: &Result<(u16, String)>) -> String {
    match answer {
        Ok((status, body)) => format!("{status} {}", first_bytes(body)),
        Err(e) => format!("client: {e}"),
    }
}

fn first_bytes(body: &str) -> String {
    const SHOWN: usize = 40;
    let mut shown: String = body.chars().take(SHOWN).collect();
    if body.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    shown
}

/// CPU-bound processes beside the load, each a busy `sh` loop; killed by PID when dropped.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start(count: u64) -> Result<Self> {
        let mut hogs = Hogs(Vec::new());
        for _ in 0..count {
            let hog = Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .stdin(Stdio::null())
                .spawn()
                .context("starting a CPU hog")?;
            hogs.0.push(hog);
        }
        if count > 0 {
            let pids: Vec<_> = hogs.0.iter().map(Child::id).collect();
            println!("    {count} CPU hog(s) running beside it (pids {pids:?})");
        }
        Ok(hogs)
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for hog in &mut self.0 {
            let _ = hog.kill();
            let _ = hog.wait();
        }
    }
}

/// What the machine's processes did during the load.
#[derive(Default)]
struct Processes {
    load_before: f64,
    load_after: f64,
    /// workerd processes that started after the load began (a runtime restart each).
    workerd_started: usize,
    /// workerd processes that ended while the load ran.
    workerd_ended: usize,
    /// The largest resident set of one workerd process, in MiB.
    workerd_rss_max_mib: f64,
    /// The largest resident set of each kind of process, in MiB.
    rss_max_mib: BTreeMap<&'static str, f64>,
    /// CPU seconds (user + system) each kind of wrangler's processes used during the load.
    cpu_seconds: BTreeMap<&'static str, f64>,
}

/// One of wrangler's processes, as `/proc` shows it.
struct Sample {
    kind: &'static str,
    rss_mib: f64,
    /// User + system CPU time so far, in clock ticks.
    cpu_ticks: u64,
}

/// Samples wrangler's processes (`/proc`, every 250 ms) while the load runs.
struct Machine {
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<Processes>,
}

impl Machine {
    fn start(group: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = std::thread::spawn(move || {
            let mut processes = Processes { load_before: load_average(), ..Processes::default() };
            // pid → (kind, CPU ticks when first seen during the load, latest CPU ticks).
            let mut cpu: BTreeMap<u32, (&'static str, u64, u64)> = BTreeMap::new();
            let first = group_processes(group);
            for (pid, sample) in &first {
                cpu.insert(*pid, (sample.kind, sample.cpu_ticks, sample.cpu_ticks));
            }
            let mut alive: BTreeSet<u32> = first.keys().copied().collect();
            loop {
                let now = group_processes(group);
                for (pid, sample) in &now {
                    let entry = cpu.entry(*pid).or_insert((sample.kind, 0, 0));
                    entry.2 = sample.cpu_ticks;
                    let rss = processes.rss_max_mib.entry(sample.kind).or_default();
                    *rss = rss.max(sample.rss_mib);
                    if sample.kind.starts_with("workerd") {
                        processes.workerd_rss_max_mib = processes.workerd_rss_max_mib.max(sample.rss_mib);
                        if alive.insert(*pid) {
                            processes.workerd_started += 1;
                        }
                    }
                }
                let gone: Vec<u32> = alive.iter().filter(|p| !now.contains_key(p)).copied().collect();
                for pid in gone {
                    alive.remove(&pid);
                    processes.workerd_ended += 1;
                }
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            for (kind, from, to) in cpu.into_values() {
                *processes.cpu_seconds.entry(kind).or_default() += to.saturating_sub(from) as f64 / CLOCK_TICKS;
            }
            processes.load_after = load_average();
            processes
        });
        Machine { stop, sampler }
    }

    fn stop(self) -> Processes {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap_or_default()
    }
}

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const CLOCK_TICKS: f64 = 100.0;

/// The 1-minute load average (`/proc/loadavg`).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// The processes of process group `group` (wrangler's node, its two workerd runtimes, esbuild).
/// The runtime that runs the worker listens on a port of its own choosing (`entry=…:0`); the
/// other one is wrangler's proxy in front of it.
fn group_processes(group: u32) -> BTreeMap<u32, Sample> {
    let mut found = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid pgrp … utime stime …`; comm may hold spaces: split after ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        if number(2) != Some(u64::from(group)) {
            continue;
        }
        let comm = head.rsplit_once('(').map(|(_, c)| c).unwrap_or_default();
        let kind = match comm {
            "workerd" => {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if cmdline.split(|b| *b == 0).any(|arg| arg == b"--socket-addr=entry=127.0.0.1:0") {
                    "workerd (worker)"
                } else {
                    "workerd (proxy)"
                }
            }
            "node" | "wrangler" => "node (wrangler)",
            _ => "other",
        };
        let rss_kib = std::fs::read_to_string(entry.path().join("status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches(" kB").parse().ok()))
            })
            .unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of stat, 11 and 12 after the comm.
        let cpu_ticks = number(11).unwrap_or(0) + number(12).unwrap_or(0);
        found.insert(pid, Sample { kind, rss_mib: rss_kib / 1024.0, cpu_ticks });
    }
    found
}

fn report(options: &Options, figures: &Figures, processes: &Processes, reloads: usize, storage: &str) {
    let mut times = figures.times.clone();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| -> f64 {
        if times.is_empty() { f64::NAN } else { times[((times.len() as f64 * q) as usize).min(times.len() - 1)] }
    };
    let max = times.last().copied().unwrap_or(f64::NAN);
    let errors: usize = figures.errors.values().sum();
    let per_second = times.len() as f64 / figures.seconds;
    println!(
        "    {} turns answered of {} in {:.1} s: {per_second:.0} turns/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {max:.1} ms; {errors} errors",
        times.len(),
        figures.attempted,
        figures.seconds,
        at(0.5),
        at(0.9),
        at(0.99),
    );
    for (kind, count) in &figures.errors {
        println!("      {kind} ×{count}");
    }
    let bursts = bursts(&figures.error_at_s);
    if let Some(largest) = bursts.iter().max() {
        println!(
            "      in {} burst(s) (failures less than a second apart), the largest {largest} at once",
            bursts.len()
        );
    }
    let resent = RESENT.load(Ordering::Relaxed);
    if resent > 0 {
        println!("    {resent} requests sent again on a new connection (the kept-alive one was closed)");
    }
    if let Some(history) = &figures.history {
        println!(
            "    histories: {} lost turns, {} duplicated, {} failed turns stored anyway{}",
            history.lost,
            history.duplicated,
            history.stored_after_error,
            if history.unreadable > 0 { format!(", {} unreadable", history.unreadable) } else { String::new() },
        );
        if history.full_histories > 0 {
            println!(
                "      {} histories reached the {HISTORY_LIMIT}-message limit: their first turns may be dropped (use fewer --turns)",
                history.full_histories
            );
        }
    }
    println!(
        "    machine: {} cores, load {:.2} before, {:.2} after; {} CPU hog(s); local storage on {storage}; wrangler reloads {reloads}; workerd processes started {}, ended {}; workerd RSS max {:.0} MiB",
        std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        processes.load_before,
        processes.load_after,
        options.hogs,
        processes.workerd_started,
        processes.workerd_ended,
        processes.workerd_rss_max_mib,
    );
    let per_turn = |seconds: f64| if times.is_empty() { f64::NAN } else { seconds * 1e3 / times.len() as f64 };
    let cpu: Vec<String> = processes
        .cpu_seconds
        .iter()
        .map(|(kind, seconds)| format!("{kind} {seconds:.1} s ({:.1} ms/turn)", per_turn(*seconds)))
        .collect();
    println!("    CPU during the load: {}", cpu.join(", "));
    let rss: Vec<String> = processes.rss_max_mib.iter().map(|(kind, mib)| format!("{kind} {mib:.0} MiB")).collect();
    println!("    largest resident memory: {}", rss.join(", "));
    if options.json {
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let history = figures.history.as_ref();
        let json = serde_json::json!({
            "mode": if options.conversations.is_some() { "conversations" } else { "timed" },
            "conversations": options.conversations.map(|(c, _)| c).unwrap_or(options.clients),
            "turns_per_conversation": options.conversations.map(|(_, t)| t),
            "turns": times.len(),
            "attempted": figures.attempted,
            "seconds": round(figures.seconds),
            "turns_per_s": round(per_second),
            "p50_ms": round(at(0.5)),
            "p90_ms": round(at(0.9)),
            "p99_ms": round(at(0.99)),
            "max_ms": round(max),
            "errors": errors,
            "errors_by_kind": figures.errors,
            "error_bursts": bursts,
            "lost_turns": history.map(|h| h.lost),
            "duplicated_turns": history.map(|h| h.duplicated),
            "stored_after_error": history.map(|h| h.stored_after_error),
            "resent": resent,
            "hogs": options.hogs,
            "storage": storage,
            "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
            "load_before": (processes.load_before * 100.0).round() / 100.0,
            "load_after": (processes.load_after * 100.0).round() / 100.0,
            "wrangler_reloads": reloads,
            "workerd_started": processes.workerd_started,
            "workerd_ended": processes.workerd_ended,
            "workerd_rss_max_mib": round(processes.workerd_rss_max_mib),
            "rss_max_mib": processes
                .rss_max_mib
                .iter()
                .map(|(kind, mib)| (kind.to_string(), round(*mib)))
                .collect::<BTreeMap<_, _>>(),
            "cpu_ms_per_turn": processes
                .cpu_seconds
                .iter()
                .map(|(kind, seconds)| (kind.to_string(), round(per_turn(*seconds))))
                .collect::<BTreeMap<_, _>>(),
        });
        println!("{json}");
    }
}

/// The sizes of the bursts of failures: failures less than a second after the previous one
/// belong to its burst.
fn bursts(at_s: &[f64]) -> Vec<usize> {
    let mut sorted = at_s.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut bursts: Vec<usize> = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for t in sorted {
        match bursts.last_mut() {
            Some(size) if t - last < 1.0 => *size += 1,
            _ => bursts.push(1),
        }
        last = t;
    }
    bursts
}

/// Requests resent because a kept-alive connection turned out closed before any answer.
static RESENT: AtomicU64 = AtomicU64::new(0);

/// One HTTP/1.1 request over a kept-alive connection. It is sent again on a new connection
/// only when a reused one was closed before a single byte of the answer came back (the
/// server closed an idle connection): anything else is the caller's error, never a silent
/// second turn.
fn request(
    port: u16,
    connection: &mut Option<BufReader<TcpStream>>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<(u16, String)> {
    for attempt in 0..2 {
        let reused = connection.is_some();
        if connection.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(120)))?;
            stream.set_nodelay(true)?;
            *connection = Some(BufReader::new(stream));
        }
        let Some(reader) = connection.as_mut() else { unreachable!("connected above") };
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let sent =
            reader.get_mut().write_all(format!("{head}{body}").as_bytes()).map_err(|e| (true, anyhow::Error::from(e)));
        match sent.and_then(|()| read_response(reader)) {
            Ok(answer) => return Ok(answer),
            Err((nothing_back, e)) => {
                *connection = None;
                if !(attempt == 0 && reused && nothing_back) {
                    return Err(e);
                }
                RESENT.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    unreachable!("the second attempt returns")
}

/// The status and body of one response (`Content-Length` or chunked). The error says whether
/// nothing at all came back (`true`): only then may the request be sent again.
fn read_response(reader: &mut BufReader<TcpStream>) -> std::result::Result<(u16, String), (bool, anyhow::Error)> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => return Err((true, anyhow::anyhow!("connection closed before the answer"))),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Err((true, e.into())),
        Err(e) => return Err((false, e.into())),
        Ok(_) => {}
    }
    let partial = |e: anyhow::Error| (false, e);
    let status: u16 =
        line.split_whitespace().nth(1).context("a status line").and_then(|s| Ok(s.parse()?)).map_err(partial)?;
    let (mut length, mut chunked) = (0, false);
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(|e| partial(e.into()))? == 0 {
            return Err(partial(anyhow::anyhow!("connection closed mid-response")));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|e| partial(anyhow::Error::from(e)))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).map_err(|e| partial(e.into()))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or_default(), 16)
                .map_err(|e| partial(anyhow::Error::from(e)))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).map_err(|e| partial(e.into()))?;
            chunk.truncate(size);
            body.extend(chunk);
            if size == 0 {
                break;
            }
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).map_err(|e| partial(e.into()))?;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(turns: &[(&'static str, bool)]) -> Vec<Sent> {
        turns.iter().map(|&(text, answered)| Sent { text, answered }).collect()
    }

    fn stored(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn a_history_with_every_answered_turn_once_loses_nothing() {
        let turns = sent(&[("yes", true), ("no", true), ("yes", true)]);
        assert_eq!(reconcile(&turns, &stored(&["yes", "no", "yes"])), Reconciled::default());
    }

    #[test]
    fn an_answered_turn_missing_from_the_history_is_lost() {
        let turns = sent(&[("yes", true), ("no", true), ("yes", true), ("thanks", true)]);
        let found = reconcile(&turns, &stored(&["yes", "yes", "thanks"]));
        assert_eq!(found, Reconciled { lost: 1, ..Reconciled::default() });
    }

    #[test]
    fn a_turn_stored_twice_is_duplicated() {
        let turns = sent(&[("yes", true), ("no", true)]);
        let found = reconcile(&turns, &stored(&["yes", "yes", "no"]));
        assert_eq!(found, Reconciled { duplicated: 1, ..Reconciled::default() });
    }

    #[test]
    fn a_failed_turn_is_neither_lost_nor_duplicated_but_counted_when_stored() {
        // The failed "no" and the answered "no" after it: the stored one is the answered one's.
        let turns = sent(&[("yes", true), ("no", false), ("no", true)]);
        assert_eq!(reconcile(&turns, &stored(&["yes", "no"])), Reconciled::default());
        let found = reconcile(&turns, &stored(&["yes", "no", "no"]));
        assert_eq!(found, Reconciled { stored_after_error: 1, ..Reconciled::default() });
    }

    #[test]
    fn failures_less_than_a_second_apart_are_one_burst() {
        assert_eq!(bursts(&[]), Vec::<usize>::new());
        assert_eq!(bursts(&[10.0, 3.0, 3.5, 3.9, 10.2, 20.0]), [3, 2, 1]);
    }

    #[test]
    fn options_refuse_unknown_flags_and_turns_alone() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(Options::parse(&args(&["--conversation", "3"])).is_err());
        assert!(Options::parse(&args(&["--turns", "3"])).is_err());
        let options = Options::parse(&args(&["--conversations", "200", "--turns", "50", "--hog", "1"])).unwrap();
        assert_eq!((options.conversations, options.hogs), (Some((200, 50)), 1));
    }
}
