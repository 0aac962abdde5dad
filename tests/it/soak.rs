//! Long fault scenarios, too slow for every run (`#[ignore]`). Run them with
//! `cargo test --release --test it soak:: -- --ignored --nocapture` (about 12 minutes).

use crate::support;

use std::time::{Duration, Instant};

use support::feeds::FeedServer;
use support::telegram::{Fault, Limits, TelegramServer};
use support::*;

/// Telegram answers 502 for five minutes (`SOAK_OUTAGE_SECS`), then 429 with a growing
/// retry_after, then works: every notice arrives once, in order, and no resend comes before a
/// retry_after has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "takes about 12 minutes; see the module docs"]
async fn a_long_outage_then_a_429_storm_loses_nothing() {
    let outage = Duration::from_secs(
        std::env::var("SOAK_OUTAGE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300),
    );
    let feeds = FeedServer::start().await;
    feeds.bytes("/f.xml", numbered_feed(20), "application/rss+xml");
    let telegram = TelegramServer::start(Some(Limits::REAL)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy-watch.toml");
    std::fs::write(
        &path,
        format!(
            "{}{}",
            config_text(&feed_source("f", &feeds.url("/f.xml"), "backfill = 20")),
            telegram_section(&telegram, Limits::REAL, &destination("-1001", None))
        ),
    )
    .unwrap();
    let state = StateDir::new();
    telegram.fail("*", vec![Fault::ServerError(502); 10_000]);
    let started = Instant::now();
    let daemon = Daemon::start(&path, &state, |_| {});
    while started.elapsed() < outage {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        telegram.sent_to("-1001").is_empty(),
        "nothing gets through a 502"
    );
    telegram.clear_faults();
    telegram.fail("-1001", [1, 2, 4, 8, 16].map(Fault::TooManyRequests));
    println!("outage over after {:?}", started.elapsed());
    wait_for_all(&telegram).await;
    println!("all delivered after {:?}", started.elapsed());
    let got = received_numbers(&telegram, "-1001");
    assert_eq!(got, (1..=20).collect::<Vec<_>>(), "each once, in order");
    assert!(
        telegram.violations().is_empty(),
        "{:?}",
        telegram.violations()
    );
    assert_eq!(daemon.store.outbox_len(), 0);
    daemon.stop().await;
}

async fn wait_for_all(telegram: &TelegramServer) {
    // The deliverer's backoff may have grown to 10 minutes during the outage.
    let deadline = Instant::now() + Duration::from_secs(900);
    while received_numbers(telegram, "-1001").len() < 20 {
        assert!(
            Instant::now() < deadline,
            "not all delivered within 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
