//! What a long-running daemon costs: the latency from an item appearing on a feed to the (fake)
//! Telegram server receiving it, the process's memory while idle and after many poll cycles,
//! and the store's size on disk with a million seen keys.
//!
//! Run: `cargo bench --bench footprint` (about 10 minutes; `LATENCY_SAMPLES=N`, default 20;
//! `FOOTPRINT_PARTS=store,churn,idle,idle50,latency` to pick parts; `IDLE_MINUTES=60` for the
//! hour-long idle run of 50 sources; `FOOTPRINT_BINARY=path` to run another build of the binary).
//! Results go to docs/benchmarks.md by hand.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use policy_watch::store::{PollEntry, SourceState, Store};
use support::feeds::{FeedServer, Reply};
use support::telegram::TelegramServer;
use support::*;

/// The shipped config from `[classify]` on: its classification settings and topics.
fn shipped_topics() -> String {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/policy-watch.toml"
    ))
    .unwrap();
    shipped[shipped.find("[classify]").unwrap()..].to_owned()
}

/// The release binary's `run` on `config`, quiet, without a Telegram token.
/// `FOOTPRINT_BINARY=path` runs another build instead (to compare two builds side by side).
fn run_binary(config: &std::path::Path) -> std::process::Child {
    let binary = std::env::var_os("FOOTPRINT_BINARY")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_policy-watch").into());
    std::process::Command::new(binary)
        .args(["run", "--config"])
        .arg(config)
        .env_remove("TELOXIDE_TOKEN")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Resident set size of this process, in MB.
fn rss_mb() -> f64 {
    rss_of("self")
}

/// Resident set size of process `pid` ("self" for this one), in MB (from /proc; 0 if gone).
fn rss_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Items published at random moments on a feed polled every 10 s; time until the fake Telegram
/// server has the message.
async fn latency(samples: usize) {
    let interval = Duration::from_secs(10);
    let server = FeedServer::start().await;
    let items: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let shared = Arc::clone(&items);
    server.route("/f.xml", move |_| {
        Reply::ok("application/rss+xml", rss_feed(&shared.lock().unwrap()))
    });
    let tg = TelegramServer::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latency.toml");
    std::fs::write(
        &path,
        format!(
            "{}{}",
            config_text(&feed_source("f", &server.url("/f.xml"), "")),
            telegram_section(
                &tg,
                support::telegram::Limits::REAL,
                &destination("-1001", None)
            )
        ),
    )
    .unwrap();
    let state = StateDir::new();
    let daemon = Daemon::start(&path, &state, poll_every(interval));
    tokio::time::sleep(Duration::from_secs(2)).await; // baseline poll
    let mut waits = Vec::new();
    for n in 0..samples {
        // A moment within the poll interval, spread evenly over the samples.
        let offset = interval.mul_f64((n as f64 * 0.618_034) % 1.0);
        tokio::time::sleep(offset).await;
        let title = format!("AI반도체 지연 측정 {n:03}");
        let published = Instant::now();
        items
            .lock()
            .unwrap()
            .insert(0, (format!("l{n}"), title.clone()));
        loop {
            if tg
                .sent_to("-1001")
                .iter()
                .any(|s| s.visible.contains(&title))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        waits.push(published.elapsed());
    }
    daemon.stop().await;
    waits.sort();
    println!(
        "latency, 10 s interval, {samples} items: p50 {:.2} s, p90 {:.2} s, p99 {:.2} s, max {:.2} s (target p99 ≤ 12 s)",
        percentile(&waits, 0.5).as_secs_f64(),
        percentile(&waits, 0.9).as_secs_f64(),
        percentile(&waits, 0.99).as_secs_f64(),
        waits.last().unwrap().as_secs_f64()
    );
}

/// The daemon in this process with the shipped topics and five feeds shaped like the real ones,
/// polled every 10 ms: RSS after start and after 1,000 polls per source.
async fn idle_footprint() {
    let server = FeedServer::start().await;
    for (path, fixture) in [
        ("/msit.xml", "msit.xml"),
        ("/motir.xml", "motir_rss.xml"),
        ("/rss2.xml", "rss2.xml"),
        ("/atom.xml", "atom.xml"),
    ] {
        server.file(path, fixture, "application/rss+xml");
    }
    server.file(
        "/list.html",
        "korea_kr_list.html",
        "text/html; charset=utf-8",
    );
    let topics = &shipped_topics();
    let mut sources = String::new();
    for (id, path) in [
        ("msit", "/msit.xml"),
        ("motir", "/motir.xml"),
        ("rss2", "/rss2.xml"),
        ("atom", "/atom.xml"),
    ] {
        sources.push_str(&feed_source(id, &server.url(path), ""));
    }
    sources.push_str(&format!(
        "[[source]]\nid = \"list\"\nname = \"L\"\nministry = \"M\"\nkind = \"html_list\"\nurl = \"{}\"\n[source.select]\nitem = \"div.list_type ul li\"\ntitle = \"span.text strong\"\nlink = \"a\"\n[source.filter]\nselector = \"span.source\"\nany_of = [\"과학기술정보통신부\", \"산업통상부\"]\n\n",
        server.url("/list.html")
    ));
    let tg = TelegramServer::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("footprint.toml");
    std::fs::write(
        &path,
        format!(
            "[http]\ntimeout = \"5s\"\n\n{sources}\n{}{topics}",
            telegram_section(
                &tg,
                support::telegram::Limits::REAL,
                &destination("-1001", None)
            )
        ),
    )
    .unwrap();
    // The real binary, idle after its first polls (1-minute interval, as in production).
    let binary_config = dir.path().join("binary.toml");
    std::fs::write(
        &binary_config,
        format!(
            "[store]\npath = \"{}\"\n[http]\ntimeout = \"5s\"\n\n{}\n{topics}",
            dir.path().join("binary-state").display(),
            sources.replace("\"\n\n", "\"\ninterval = \"1m\"\n\n")
        ),
    )
    .unwrap();
    let mut child = run_binary(&binary_config);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let binary_started = rss_of(&child.id().to_string());
    tokio::time::sleep(Duration::from_secs(62)).await; // one more poll of every source
    let binary_later = rss_of(&child.id().to_string());
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "policy-watch run (release binary), same 5 sources at a 1 min interval, shipped topics: RSS {binary_started:.1} MB 3 s after start, {binary_later:.1} MB after the second round of polls"
    );

    let before = rss_mb();
    let state = StateDir::new();
    let daemon = Daemon::start(&path, &state, poll_every(Duration::from_millis(10)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = rss_mb();
    let polls = |server: &FeedServer| server.hits("/msit.xml");
    let t = Instant::now();
    while polls(&server) < 1000 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after_1000 = rss_mb();
    while polls(&server) < 3000 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after_3000 = rss_mb();
    let elapsed = t.elapsed();
    daemon.stop().await;
    println!(
        "daemon in-process, 5 sources (fixtures of the real feeds), shipped topics: RSS before start {before:.1} MB, after start {started:.1} MB, after 1,000 polls per source {after_1000:.1} MB, after 3,000 {after_3000:.1} MB ({:.0} polls/s)",
        5.0 * 3000.0 / elapsed.as_secs_f64()
    );
}

/// A million seen keys: size on disk, time to open, then after pruning everything.
fn store_growth() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path, 16 * 1024 * 1024).unwrap();
    let started = Instant::now();
    let state = SourceState::default();
    for batch in 0..1000 {
        let entries: Vec<PollEntry> = (0..1000)
            .map(|i| PollEntry {
                key: format!(
                    "g:https://www.msit.go.kr/bbs/view.do?sCode=user&nttSeqNo={batch:04}{i:04}"
                ),
                title_key: None,
                deliveries: vec![],
                digests: vec![],
                archive: None,
                baseline: false,
            })
            .collect();
        store
            .commit_poll(
                &format!("source-{}", batch % 20),
                &entries,
                &Default::default(),
                &Default::default(),
                &state,
                None,
            )
            .unwrap();
    }
    store.flush_blocking().unwrap();
    let write = started.elapsed();
    let size = store.stats().unwrap().size_on_disk;
    drop(store);
    std::thread::sleep(Duration::from_millis(500)); // sled releases its lock from a thread
    let t = Instant::now();
    let store = Store::open(&path, 16 * 1024 * 1024).unwrap();
    let open = t.elapsed();
    let t = Instant::now();
    let _ = store.is_seen("source-3", "g:nothing").unwrap();
    let first_read = t.elapsed();
    std::thread::sleep(Duration::from_millis(1100));
    let t = Instant::now();
    let pruned = store
        .prune_seen(Duration::ZERO, false)
        .unwrap()
        .seen_total();
    let prune = t.elapsed();
    store.flush_blocking().unwrap();
    let after = store.stats().unwrap().size_on_disk;
    // Compacting: export the pruned store and import it into a new directory.
    let mut export = Vec::new();
    store.export(&mut export).unwrap();
    let compact = Store::open(&dir.path().join("compact"), 16 * 1024 * 1024).unwrap();
    compact.import(export.as_slice()).unwrap();
    println!(
        "store: export of the pruned store imported into a new directory: {:.1} MB on disk",
        compact.stats().unwrap().size_on_disk as f64 / 1e6
    );
    println!(
        "store: 1,000,000 seen keys written in {:.1} s (1,000 commits of 1,000), {:.0} MB on disk, opened in {:.2} s (first read {:.1} ms); pruned {pruned} in {:.1} s → {:.0} MB on disk",
        write.as_secs_f64(),
        size as f64 / 1e6,
        open.as_secs_f64(),
        first_read.as_secs_f64() * 1000.0,
        prune.as_secs_f64(),
        after as f64 / 1e6
    );
}

/// Memory of the store alone under the daemon's steady write pattern: one source-state save per
/// poll, 15,000 times (the in-process daemon run above does as many polls).
fn store_churn() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store"), 16 * 1024 * 1024).unwrap();
    let mut state = SourceState {
        validators: policy_watch::store::Validators {
            etag: Some("\"abc\"".into()),
            ..Default::default()
        },
        ..SourceState::default()
    };
    let before = rss_mb();
    for n in 0..15_000u64 {
        state.last_attempt = Some(chrono::Utc::now());
        state.items_seen = n;
        store
            .save_source_state(&format!("source-{}", n % 5), &state)
            .unwrap();
    }
    let after = rss_mb();
    store.flush_blocking().unwrap();
    println!(
        "store churn: 15,000 source-state saves: RSS {before:.1} → {after:.1} MB, {:.1} MB on disk",
        store.stats().unwrap().size_on_disk as f64 / 1e6
    );
}

/// The release binary idle with 50 sources (ten each of the five real shapes: MSIT's RSS,
/// 산업통상부's RSS, RSS 2.0, Atom, korea.kr's list) at the production minimum interval of one
/// minute, the shipped topics, a sled store on disk: RSS sampled every minute for
/// `IDLE_MINUTES` (default 5; 60 for the hour the footprint target speaks of). The feed server
/// sends no validators, like most ministry servers: every poll downloads the body, which is
/// hashed and, unchanged, not parsed again.
async fn idle_50_sources(minutes: u64) {
    let server = FeedServer::start().await;
    let shapes = [
        ("msit.xml", "application/rss+xml"),
        ("motir_rss.xml", "application/rss+xml"),
        ("rss2.xml", "application/rss+xml"),
        ("atom.xml", "application/atom+xml"),
        ("korea_kr_list.html", "text/html; charset=utf-8"),
    ];
    let mut sources = String::new();
    for n in 0..50 {
        let (fixture, content_type) = shapes[n % shapes.len()];
        let path = format!("/{n}/{fixture}");
        server.file(&path, fixture, content_type);
        if fixture.ends_with(".html") {
            sources.push_str(&format!(
                "[[source]]\nid = \"list{n}\"\nname = \"L\"\nministry = \"M\"\nkind = \"html_list\"\nurl = \"{}\"\ninterval = \"1m\"\n[source.select]\nitem = \"div.list_type ul li\"\ntitle = \"span.text strong\"\nlink = \"a\"\n\n",
                server.url(&path)
            ));
        } else {
            sources.push_str(
                &feed_source(&format!("feed{n}"), &server.url(&path), "")
                    .replace("\"\n\n", "\"\ninterval = \"1m\"\n\n"),
            );
        }
    }
    let topics = &shipped_topics();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("idle50.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\n[http]\ntimeout = \"5s\"\n\n{sources}\n{topics}",
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let mut child = run_binary(&config);
    let pid = child.id().to_string();
    let started = Instant::now();
    let mut samples = Vec::new();
    for minute in 0..=minutes {
        let due = Duration::from_secs(5 + 60 * minute);
        tokio::time::sleep(due.saturating_sub(started.elapsed())).await;
        let rss = rss_of(&pid);
        println!("idle50 minute {minute:>3}: RSS {rss:.1} MB");
        samples.push(rss);
    }
    let polls = server.hits("/0/msit.xml");
    let _ = child.kill();
    let _ = child.wait();
    let max = samples.iter().cloned().fold(0.0, f64::max);
    let settled = &samples[samples.len().min(2)..];
    let (lo, hi) = settled
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    println!(
        "policy-watch run (release binary), 50 sources at 1 min for {minutes} min ({polls} polls of each): RSS at 5 s {:.1} MB, max {max:.1} MB, from minute 2 on between {lo:.1} and {hi:.1} MB",
        samples[0]
    );
}

fn main() {
    // `FOOTPRINT_PARTS=store,churn,idle,idle50,latency` (the default: all of them).
    let parts = std::env::var("FOOTPRINT_PARTS")
        .unwrap_or_else(|_| "store,churn,idle,idle50,latency".into());
    let idle_minutes = std::env::var("IDLE_MINUTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let samples = std::env::var("LATENCY_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    if parts.contains("store") {
        store_growth();
    }
    if parts.contains("churn") {
        store_churn();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if parts.split(',').any(|p| p == "idle") {
        runtime.block_on(idle_footprint());
    }
    if parts.contains("idle50") {
        runtime.block_on(idle_50_sources(idle_minutes));
    }
    if parts.contains("latency") {
        runtime.block_on(latency(samples));
    }
}
