//! The whole pipeline at scale, as a user feels it: the release binary (`policy-watch once`) against
//! 1,000 feed sources on one loopback server, 50 real-shaped Korean items each, measured with
//! `/usr/bin/time` (wall, user+system CPU, peak RSS of the process).
//!
//! Cycles: first (everything new: baseline), steady with every source answering 304, steady
//! with 1 % of the sources carrying one new item, and a throughput run where every item is new
//! and queued (`backfill = 50`: parse → dedupe → classify → outbox → delivered to stdout).
//!
//! `cargo bench --bench scale` (about a minute). `SCALE_SOURCES=N` changes the source count,
//! `SCALE_ITEMS=N` the items per feed (50). Results go to docs/benchmarks.md by hand.
//!
//! `SCALE_VERSUS=1 cargo bench --bench scale`: side by side with the Python stack people would
//! otherwise script (benches/python_stack.py: feedparser, a JSON store, a keyword loop; it
//! installs feedparser into target/python-stack-venv from PyPI when missing): the first cycle of
//! each over the same 1,000 feeds × 20 on-topic items, CPU and peak RSS, and their ratio. With
//! `SCALE_HOLD=1` as well it only serves the feeds and prints the config's path, for profiling
//! a run by hand (`perf record … policy-watch once --config …`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Feeds {
    /// Items per feed.
    items: usize,
    /// Per source: how many extra (new) items it has.
    generation: Vec<AtomicU32>,
    headlines: Vec<(String, String)>,
}

impl Feeds {
    fn body(&self, n: usize, generation: u32) -> String {
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>보도자료</title><link>https://www.msit.go.kr/</link><description>과학기술정보통신부 보도자료</description>\n",
        );
        let total = self.items + generation as usize;
        for k in (0..total).rev().take(self.items) {
            let (title, summary) = &self.headlines[(n * 7 + k) % self.headlines.len()];
            let day = 1 + k % 28;
            xml.push_str(&format!(
                "<item><title><![CDATA[{title} (제{n}-{k}호)]]></title><link>https://www.msit.go.kr/bbs/view.do?sCode=user&amp;nttSeqNo={n}{k:05}</link><guid>s{n}-i{k}</guid><pubDate>2026-11-{day:02} 10:00:00</pubDate><description><![CDATA[<p>{summary}</p><p>{summary}</p><table><tr><td>담당 부서</td><td>인공지능기반정책과</td></tr></table>]]></description></item>\n"
            ));
        }
        xml.push_str("</channel></rss>\n");
        xml
    }
}

async fn feed(
    State(feeds): State<Arc<Feeds>>,
    UrlPath(n): UrlPath<usize>,
    headers: HeaderMap,
) -> Response {
    let Some(generation) = feeds.generation.get(n).map(|g| g.load(Ordering::SeqCst)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{n}-{generation}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "application/rss+xml; charset=utf-8".to_owned(),
            ),
            (header::ETAG, etag),
        ],
        feeds.body(n, generation),
    )
        .into_response()
}

/// The dev headlines with their summaries (only those labelled on a topic with `on_topic`).
fn headlines(on_topic: bool) -> Vec<(String, String)> {
    // The repository's own copy, so every clone measures the same data.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dev_headlines.jsonl");
    policy_watch::eval::load(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|item| !on_topic || !item.labels.is_empty())
        .map(|item| {
            let summary = item.summary.unwrap_or_else(|| item.title.clone());
            (item.title, summary)
        })
        .collect()
}

/// The shipped config's classifier and topics, with `sources` feeds on `addr`.
fn config(dir: &Path, addr: SocketAddr, sources: usize, backfill: usize) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("config/policy-watch.toml")).unwrap();
    let topics = &shipped[shipped
        .find("[classify]")
        .expect("[classify] in the shipped config")..];
    let mut text = String::from(
        "[http]\ntimeout = \"60s\"\n\n[telegram]\napi_url = \"http://127.0.0.1:9\"\n\n",
    );
    for n in 0..sources {
        text.push_str(&format!(
            "[[source]]\nid = \"s{n}\"\nname = \"보도자료 {n}\"\nministry = \"과학기술정보통신부\"\nkind = \"feed\"\nurl = \"http://{addr}/feed/{n}\"\nbackfill = {backfill}\n\n"
        ));
    }
    text.push_str(topics);
    let path = dir.join(format!("scale-{backfill}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

struct Measured {
    wall: f64,
    cpu: f64,
    rss_mb: f64,
    stdout_bytes: usize,
}

/// Runs `policy-watch once --dry-run` under /usr/bin/time.
fn once(config: &Path, state: &Path) -> Measured {
    once_with(config, state, true)
}

/// Runs `policy-watch once` under /usr/bin/time: a dry run (`--dry-run`: notices and a preview
/// of what a baseline matched go to stdout), or as in production, with a Telegram token (the
/// config's `api_url` points at a closed port: a first cycle sends nothing, it records).
fn once_with(config: &Path, state: &Path, dry_run: bool) -> Measured {
    let mut command = Command::new("/usr/bin/time");
    if dry_run {
        command.env_remove("TELOXIDE_TOKEN");
    } else {
        command.env("TELOXIDE_TOKEN", "123456:bench-token-never-sent");
    }
    let out = command
        .args(["-f", "TIME %e %U %S %M"])
        .arg(env!("CARGO_BIN_EXE_policy-watch"))
        .arg("once")
        .args(dry_run.then_some("--dry-run"))
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .env("RUST_LOG", "warn")
        .output()
        .expect("/usr/bin/time runs the binary");
    measured(&out, "policy-watch once")
}

/// Wall, CPU and peak RSS of a run under `/usr/bin/time -f "TIME %e %U %S %M"`.
fn measured(out: &std::process::Output, what: &str) -> Measured {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {stderr}");
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("TIME "))
        .unwrap_or_else(|| panic!("no time line: {stderr}"));
    let f: Vec<f64> = line.split(' ').map(|x| x.parse().unwrap()).collect();
    Measured {
        wall: f[0],
        cpu: f[1] + f[2],
        rss_mb: f[3] / 1024.0,
        stdout_bytes: out.stdout.len(),
    }
}

/// Runs the Python stack (benches/python_stack.py: feedparser, a JSON store, a keyword loop)
/// over the same feeds under /usr/bin/time.
fn python_once(config: &Path, store: &Path, addr: SocketAddr, sources: usize) -> Measured {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_stack.py");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "TIME %e %U %S %M", "python3"])
        .arg(&script)
        .arg(config)
        .arg(store)
        .args((0..sources).map(|n| format!("http://{addr}/feed/{n}")))
        .output()
        .expect("/usr/bin/time runs python3");
    measured(&out, "the python stack")
}

/// `SCALE_VERSUS=1`: the first cycle of policy-watch and of the Python stack over the same
/// 1,000 feeds × 20 on-topic items, alternately, 3 rounds each on fresh stores; best of each.
fn versus(dir: &Path, addr: SocketAddr, sources: usize, items: usize) {
    let config = config(dir, addr, sources, 0);
    if std::env::var("SCALE_HOLD").is_ok_and(|v| v == "1") {
        // For profiling by hand: keep the feeds served and say where the config is.
        println!("serving on {addr}; config {}", config.display());
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    // Once, outside the measurement: the Python side installs feedparser when it is missing.
    let _ = python_once(&config, &dir.join("warm.json"), addr, 1);
    let mut ours: Vec<Measured> = Vec::new();
    let mut python: Vec<Measured> = Vec::new();
    for round in 0..3 {
        // A fresh install's first run, as in production (with a token): the baseline is
        // recorded silently, as the Python stack records its store (a dry run, or a run without
        // a token, would also print a preview of every match).
        ours.push(once_with(
            &config,
            &dir.join(format!("versus-state-{round}")),
            false,
        ));
        python.push(python_once(
            &config,
            &dir.join(format!("versus-{round}.json")),
            addr,
            sources,
        ));
    }
    let best = |runs: &[Measured]| {
        runs.iter()
            .min_by(|a, b| a.cpu.total_cmp(&b.cpu))
            .map(|m| (m.wall, m.cpu, m.rss_mb))
            .unwrap()
    };
    let (ours, python) = (best(&ours), best(&python));
    println!("{sources} sources × {items} on-topic items, first cycle, best of 3\n");
    println!("| stack | wall s | CPU s | peak RSS MB |");
    println!("|---|---|---|---|");
    println!(
        "| policy-watch once | {:.2} | {:.2} | {:.1} |",
        ours.0, ours.1, ours.2
    );
    println!(
        "| Python: feedparser + JSON store + keyword loop | {:.2} | {:.2} | {:.1} |",
        python.0, python.1, python.2
    );
    println!("\nCPU ratio: {:.1}×", python.1 / ours.1);
}

fn main() {
    let versus_python = std::env::var("SCALE_VERSUS").is_ok_and(|v| v == "1");
    let sources: usize = std::env::var("SCALE_SOURCES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let items: usize = std::env::var("SCALE_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if versus_python { 20 } else { 50 });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let feeds = Arc::new(Feeds {
        items,
        generation: (0..sources).map(|_| AtomicU32::new(0)).collect(),
        headlines: headlines(versus_python),
    });
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/feed/{n}", axum::routing::get(feed))
            .with_state(Arc::clone(&feeds));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });
    if versus_python {
        let dir = tempfile::tempdir().unwrap();
        versus(dir.path(), addr, sources, items);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config_baseline = config(dir.path(), addr, sources, 0);
    let state = dir.path().join("state");
    let per_source = items;
    let items = sources * per_source;
    println!("{sources} sources × {per_source} items = {items} items, one loopback server\n");
    println!("| cycle | wall s | CPU s | peak RSS MB | notes |");
    println!("|---|---|---|---|---|");
    if let Ok(out) = std::env::var("SCALE_CALLGRIND") {
        // Profile the first cycle: `SCALE_CALLGRIND=/tmp/cg.out SCALE_SOURCES=100`.
        let status = Command::new("valgrind")
            .args(["--tool=callgrind", &format!("--callgrind-out-file={out}")])
            .arg(env!("CARGO_BIN_EXE_policy-watch"))
            .args(["once", "--dry-run", "--config"])
            .arg(&config_baseline)
            .arg("--state-dir")
            .arg(&state)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("valgrind runs");
        assert!(status.success());
        return;
    }
    let first = once(&config_baseline, &state);
    println!(
        "| first (baseline) | {:.2} | {:.2} | {:.1} | {:.0} items/s |",
        first.wall,
        first.cpu,
        first.rss_mb,
        items as f64 / first.wall
    );
    let unchanged = once(&config_baseline, &state);
    println!(
        "| steady, all 304 | {:.2} | {:.2} | {:.1} | |",
        unchanged.wall, unchanged.cpu, unchanged.rss_mb
    );
    let changed = sources.div_ceil(100);
    for g in feeds.generation.iter().take(changed) {
        g.fetch_add(1, Ordering::SeqCst);
    }
    let some_new = once(&config_baseline, &state);
    println!(
        "| steady, {changed} sources with 1 new item | {:.2} | {:.2} | {:.1} | {} bytes of notices |",
        some_new.wall, some_new.cpu, some_new.rss_mb, some_new.stdout_bytes
    );
    // Throughput: everything new and queued.
    let config_all = config(dir.path(), addr, sources, per_source);
    let state_all = dir.path().join("state-all");
    let all = once(&config_all, &state_all);
    println!(
        "| throughput (all new, all queued) | {:.2} | {:.2} | {:.1} | {:.0} items/s, {} MB of notices |",
        all.wall,
        all.cpu,
        all.rss_mb,
        items as f64 / all.wall,
        all.stdout_bytes / 1_000_000
    );
}
