//! The real binary against the fake servers: SIGKILL in the middle of delivering loses nothing,
//! and the bot token never appears in anything it prints, whatever goes wrong.

use crate::support;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use support::feeds::FeedServer;
use support::process::{capture_output, signal, wait_for};
use support::telegram::{ChatStatus, Fault, Limits, TOKEN, TelegramServer};
use support::*;

/// Group limit of 10/s: 200 notices take ~20 s, long enough to kill the process mid-way.
const LIMITS: Limits = Limits {
    global_per_second: 30,
    group_per_minute: 600,
    private_per_second: 10,
};

fn daemon(config: &Path, rust_log: &str) -> Child {
    support::process::policy_watch(["run", "--config", config.to_str().unwrap()])
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A feed of 200 on-topic items (all sent: `backfill = 200`) for channel -1001, and the config
/// file (`policy-watch.toml` in the returned directory, with the store beside it).
async fn two_hundred_notices_to_one_channel() -> (FeedServer, TelegramServer, tempfile::TempDir) {
    let feeds = FeedServer::start().await;
    feeds.bytes("/f.xml", numbered_feed(200), "application/rss+xml");
    let telegram = TelegramServer::start(Some(LIMITS)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[store]\npath = \"{}\"\n{}{}",
        dir.path().join("state").display(),
        config_text(&feed_source("f", &feeds.url("/f.xml"), "backfill = 200")),
        telegram_section(&telegram, LIMITS, &destination("-1001", None))
    );
    config_file(dir.path(), &config);
    (feeds, telegram, dir)
}

#[tokio::test]
async fn sigkill_while_delivering_loses_nothing_and_duplicates_at_most_one() {
    let (_feeds, telegram, dir) = two_hundred_notices_to_one_channel().await;
    let path = dir.path().join("policy-watch.toml");

    let mut first = daemon(&path, "info");
    let _logs = capture_output(&mut first);
    wait_for("60 deliveries", Duration::from_secs(60), || {
        telegram.sent_to("-1001").len() >= 60
    })
    .await;
    signal(&first, "-KILL");
    let status = first.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    let before_restart = telegram.sent_to("-1001").len();
    assert!(
        before_restart < 200,
        "killed in the middle ({before_restart} delivered)"
    );

    let mut second = daemon(&path, "info");
    let _logs = capture_output(&mut second);
    wait_for("all 200 notices", Duration::from_secs(90), || {
        let mut got = received_numbers(&telegram, "-1001");
        got.sort();
        got.dedup();
        got.len() == 200
    })
    .await;
    signal(&second, "-TERM");
    let status = second.wait().unwrap();
    assert_eq!(status.code(), Some(0));

    let got = received_numbers(&telegram, "-1001");
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique,
        (1..=200).collect::<Vec<_>>(),
        "every notice delivered"
    );
    assert!(
        got.len() - unique.len() <= 1,
        "at most the one in-flight message repeats: {} extra",
        got.len() - unique.len()
    );
    // In order, apart from that one possible repeat.
    let mut ordered = got.clone();
    ordered.dedup();
    let mut last = 0;
    for n in &got {
        assert!(
            *n >= last || got.iter().filter(|m| *m == n).count() > 1,
            "out of order at {n} after {last}: {got:?}"
        );
        last = last.max(*n);
    }
    assert!(telegram.violations().is_empty());
}

#[tokio::test]
async fn the_token_never_appears_in_output_on_any_error_path() {
    let feeds = FeedServer::start().await;
    feeds.bytes("/f.xml", numbered_feed(6), "application/rss+xml");
    feeds.route("/broken.xml", |_| support::feeds::Reply::status(500));
    let telegram = TelegramServer::start(Some(LIMITS)).await;
    telegram.set_chat("-1002", ChatStatus::NotMember);
    telegram.set_chat("@lost_channel", ChatStatus::NotFound);
    telegram.fail(
        "-1001",
        [
            Fault::Drop,
            Fault::TooManyRequests(1),
            Fault::BadMarkup,
            Fault::TooLong,
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let destinations = [
        destination("-1001", None),
        destination("-1002", None),
        destination("@lost_channel", None),
    ]
    .concat();
    let sources = [
        feed_source("f", &feeds.url("/f.xml"), "backfill = 6"),
        feed_source("broken", &feeds.url("/broken.xml"), ""),
    ]
    .concat();
    let config = format!(
        "[store]\npath = \"{}\"\n{}{}",
        dir.path().join("state").display(),
        config_text(&sources),
        telegram_section(&telegram, LIMITS, &destinations)
    );
    let path = config_file(dir.path(), &config);

    // Everything at the most verbose level, including reqwest's and hyper's own logs.
    let mut child = daemon(&path, "trace");
    let logs = capture_output(&mut child);
    wait_for(
        "the healthy destination to get its notices",
        Duration::from_secs(60),
        || received_numbers(&telegram, "-1001").len() >= 5,
    )
    .await;
    signal(&child, "-TERM");
    child.wait().unwrap();
    let mut output = logs.join().unwrap();

    // A second run against an API that is not there: connection errors quote the request URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = config.replace(&telegram.url(), &format!("http://{closed}/"));
    std::fs::write(&path, unreachable).unwrap();
    let mut child = daemon(&path, "trace");
    let logs = capture_output(&mut child);
    tokio::time::sleep(Duration::from_secs(3)).await;
    signal(&child, "-TERM");
    child.wait().unwrap();
    output.push_str(&logs.join().unwrap());

    // The error paths were really taken...
    for expected in [
        "not a member",
        "chat not found",
        "HTTP 500",
        "429",
        "plain text",
        "too long",
        "Connection refused",
    ] {
        assert!(
            output.contains(expected),
            "expected {expected:?} in the output"
        );
    }
    // ...and the token is nowhere, whole or in part.
    let secret = TOKEN.split_once(':').unwrap().1;
    assert!(!output.contains(TOKEN), "the token leaked");
    assert!(!output.contains("/bot4242"), "a Bot API URL leaked");
    assert!(!output.contains(secret), "the token's secret part leaked");
}

/// Twenty SIGKILLs at random moments — during startup, the first poll and its commit, and the
/// deliveries — each followed by a restart: in the end every notice arrived, at most one
/// duplicate per kill, and the store still opens (`store stats`).
#[tokio::test]
async fn twenty_random_sigkills_lose_nothing() {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("KILL_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (_feeds, telegram, dir) = two_hundred_notices_to_one_channel().await;
    let path = dir.path().join("policy-watch.toml");
    let unique = |telegram: &TelegramServer| {
        let mut got = received_numbers(telegram, "-1001");
        got.sort();
        got.dedup();
        got.len()
    };

    let mut kills = 0;
    while kills < 20 && unique(&telegram) < 200 {
        let mut child = daemon(&path, "warn");
        let _logs = capture_output(&mut child);
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..1200))).await;
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the daemon exited by itself: {status:?} (seed {seed})");
        }
        signal(&child, "-KILL");
        assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
        kills += 1;
    }
    let mut last = daemon(&path, "warn");
    let _logs = capture_output(&mut last);
    wait_for("all 200 notices", Duration::from_secs(120), || {
        unique(&telegram) == 200
    })
    .await;
    signal(&last, "-TERM");
    assert_eq!(last.wait().unwrap().code(), Some(0));

    let got = received_numbers(&telegram, "-1001");
    let extra = got.len() - 200;
    println!("{kills} kills, {extra} duplicates");
    assert!(
        extra <= kills,
        "at most one duplicate per kill: {extra} extra after {kills} kills (seed {seed})"
    );
    assert!(telegram.violations().is_empty());
    let stats =
        support::process::policy_watch(["store", "stats", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
    assert!(
        stats.status.success(),
        "the store opens cleanly: {}",
        String::from_utf8_lossy(&stats.stderr)
    );
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.contains("pending:      0 deliveries"), "{stats}");
}
