//! `cargo xtask bench`: the worker under a bounded load in local workerd (`wrangler dev`) on
//! loopback, printing throughput and latency. Figures, not assertions.
//!
//! Each of `--clients N` (default 8) clients opens its own conversation (so its own user and
//! Durable Object) and sends messages back to back over a keep-alive connection for
//! `--seconds S` (default 20). Every request is a full turn: token check, the user's object,
//! KV reads and writes, the engine, analytics.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
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

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let flag = |name: &str, default: u64| -> Result<u64> {
        match args.iter().position(|a| a == name) {
            Some(i) => args.get(i + 1).context("a value")?.parse().with_context(|| format!("{name} takes a number")),
            None => Ok(default),
        }
    };
    let (clients, seconds) = (flag("--clients", 8)?, flag("--seconds", 20)?);
    let tools = crate::tools::ensure(root)?;
    crate::build::all(root, &tools)?;
    let state = root.join("target/bench-state");
    let _ = std::fs::remove_dir_all(&state);
    std::fs::create_dir_all(&state)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let inspector = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = DevServer {
        port,
        inspector_port: inspector,
        persist_to: &state.join("kv"),
        config_home: &state.join("home"),
        token_secret: "bench-token-secret-of-thirty-two-bytes",
        fulfillment_url: None,
        vars: vec![
            ("USER_RATE_PER_MINUTE", "1000000".into()),
            ("IP_RATE_PER_MINUTE", "1000000".into()),
            ("IP_CONVERSATIONS_PER_HOUR", "1000000".into()),
        ],
    };
    let log = std::fs::File::create(state.join("wrangler.log"))?;
    // Its own process group: wrangler starts node and workerd children, all stopped together.
    let mut child = server
        .command(root)
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting wrangler")?;
    let result = load(port, clients, seconds);
    let group = format!("-{}", child.id());
    let _ = std::process::Command::new("kill").args(["-TERM", "--", &group]).status();
    let _ = child.wait();
    result
}

fn load(port: u16, clients: u64, seconds: u64) -> Result<()> {
    let started = Instant::now();
    while !matches!(request(port, &mut None, "GET", "/v1/health", None, ""), Ok((200, _))) {
        if started.elapsed() > Duration::from_secs(90) {
            bail!("wrangler dev did not answer within 90 s (see target/bench-state/wrangler.log)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("==> {clients} clients, {seconds} s, each its own conversation, messages back to back (127.0.0.1:{port})");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            std::thread::spawn(move || -> Result<(Vec<f64>, usize)> {
                let mut connection = None;
                let (status, body) =
                    request(port, &mut connection, "POST", "/v1/conversations", None, r#"{"channel":"web"}"#)?;
                anyhow::ensure!(status == 201, "create: {status} {body}");
                let created: serde_json::Value = serde_json::from_str(&body)?;
                let id = created["conversation_id"].as_str().context("id")?.to_owned();
                let token = created["token"].as_str().context("token")?.to_owned();
                let path = format!("/v1/conversations/{id}/messages");
                let (mut times, mut errors) = (Vec::new(), 0);
                for text in MESSAGES.iter().cycle() {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let body = serde_json::json!({ "text": text }).to_string();
                    let sent = Instant::now();
                    match request(port, &mut connection, "POST", &path, Some(&token), &body) {
                        Ok((200, _)) => times.push(sent.elapsed().as_secs_f64() * 1e3),
                        _ => errors += 1,
                    }
                }
                Ok((times, errors))
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (t, e) = worker.join().map_err(|_| anyhow::anyhow!("a client panicked"))??;
        times.extend(t);
        errors += e;
    }
    times.sort_by(f64::total_cmp);
    anyhow::ensure!(!times.is_empty(), "no request succeeded");
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "    {} turns in {seconds} s: {:.0} turns/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {errors} errors",
        times.len(),
        times.len() as f64 / seconds as f64,
        at(0.5),
        at(0.9),
        at(0.99),
        times[times.len() - 1]
    );
    Ok(())
}

/// One HTTP/1.1 request over a kept-alive connection (reopened when the server closed it).
fn request(
    port: u16,
    connection: &mut Option<BufReader<TcpStream>>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<(u16, String)> {
    for attempt in 0..2 {
        if connection.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", port))?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            *connection = Some(BufReader::new(stream));
        }
        let reader = connection.as_mut().expect("connected");
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let sent =
            reader.get_mut().write_all(head.as_bytes()).and_then(|_| reader.get_mut().write_all(body.as_bytes()));
        match sent.map_err(anyhow::Error::from).and_then(|_| read_response(reader)) {
            Ok(answer) => return Ok(answer),
            Err(e) if attempt == 0 => {
                *connection = None;
                let _ = e;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("two attempts")
}

fn read_response(reader: &mut BufReader<TcpStream>) -> Result<(u16, String)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line.split_whitespace().nth(1).context("a status line")?.parse()?;
    let mut length = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("connection closed mid-response");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
