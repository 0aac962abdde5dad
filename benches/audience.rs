//! A large audience against Telegram's limits applied strictly (the fake Bot API's strict mode: 30
//! sends in any second, one a second per private chat, a bot-wide 429 renewed by every send inside
//! it): `SUBSCRIBERS` subscribers get `RELEASES` releases while `USERS` other people each send
//! /start, /subscribe and /mysubs at the same moment. The whole daemon runs in-process (feed on
//! 127.0.0.1, getUpdates, a sled store on disk).
//!
//! Reports the time from the releases' publication to the last message against the limits'
//! minimum ((messages − 1) / 30 s), the 429s and the sends inside a retry_after, and how long
//! the people waited for their answers.
//!
//! Run: `cargo bench --bench audience` (1,000 × 10 and 1,000 × 3: 13,000 messages, about eight
//! minutes). `AUDIENCE_SUBSCRIBERS`, `AUDIENCE_USERS`, `AUDIENCE_RELEASES` change the sizes.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use policy_watch::records::Lang;
use policy_watch::store::{ChatKind, Subscriber};
use support::feeds::{FeedServer, Reply};
use support::telegram::{Limits, TelegramServer};
use support::*;

fn size(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let subscribers = size("AUDIENCE_SUBSCRIBERS", 1000);
    let users = size("AUDIENCE_USERS", 1000);
    let releases = size("AUDIENCE_RELEASES", 10);

    let tg = TelegramServer::start_strict(Limits::REAL).await;
    let feed = FeedServer::start().await;
    let items: Arc<Mutex<Vec<(String, String, i64)>>> = Arc::default();
    let shared = Arc::clone(&items);
    feed.route("/rss.xml", move |_| {
        Reply::ok(
            "application/rss+xml",
            rss_feed_dated(&shared.lock().unwrap()),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let topics = "[[topic]]\nid = \"chips\"\nname = \"AI반도체\"\nhashtag = \"#AI반도체\"\nkeywords = [\"AI반도체\"]\n\n[[topic]]\nid = \"bio\"\nname = \"AI 바이오\"\nhashtag = \"#AI바이오\"\nkeywords = [\"AI 신약\"]\n";
    let path = config_file(
        dir.path(),
        &format!(
            "{}\n[telegram]\napi_url = \"{}\"\n\n{topics}",
            feed_source("msit", &feed.url("/rss.xml"), ""),
            tg.url()
        ),
    );
    let state = StateDir::new();
    {
        let store = state.open();
        for user in 0..subscribers {
            let chat = 10_000_000 + user;
            let mut s = Subscriber::new(chat, ChatKind::Private, Lang::Ko);
            s.topics.insert("chips".into());
            store.update_subscriber(chat, |_| Some(s.clone())).unwrap();
        }
    }
    let daemon = Daemon::start(&path, &state, poll_every(Duration::from_millis(300)));
    let store = daemon.store.clone();
    eventually("the baseline", || {
        store.source_state("msit").unwrap().baselined.then_some(())
    })
    .await;

    let started = Instant::now();
    {
        let mut items = items.lock().unwrap();
        for r in 0..releases {
            items.insert(0, (format!("r{r}"), format!("AI반도체 소식 {r:03}"), r));
        }
    }
    for user in 0..users {
        let chat = 20_000_000 + user;
        tg.user_says(chat, "ko", "/start");
        tg.user_says(chat, "ko", "/subscribe bio");
        tg.user_says(chat, "ko", "/mysubs");
    }
    let expected = (subscribers * releases + users * 3) as usize;
    let limit = Duration::from_secs(60 + expected as u64 / 10);
    eventually_within("every message", limit, || {
        (tg.sent().len() >= expected && store.outbox_len() == 0).then_some(())
    })
    .await;
    // Anything sent twice would arrive now.
    tokio::time::sleep(Duration::from_secs(2)).await;
    daemon.stop().await;

    let sent = tg.sent();
    let last = sent.iter().map(|s| s.at).max().unwrap();
    let took = last - started;
    let minimum = Duration::from_secs(1) / Limits::REAL.global_per_second * (expected as u32 - 1);
    let mut answer_waits: Vec<Duration> = sent
        .iter()
        .filter(|s| s.chat.starts_with('2'))
        .map(|s| s.at - started)
        .collect();
    answer_waits.sort();
    let notices: Vec<&support::telegram::Sent> =
        sent.iter().filter(|s| s.chat.starts_with('1')).collect();
    let mut per_chat = std::collections::HashMap::<&str, usize>::new();
    for n in &notices {
        *per_chat.entry(n.chat.as_str()).or_default() += 1;
    }
    let complete = per_chat.len() == subscribers as usize
        && per_chat.values().all(|n| *n == releases as usize);
    println!(
        "| subscribers × releases | users × commands | messages | limits' minimum | took | ratio | 429s | sends inside a retry_after | every subscriber got each release once | answers: median / p95 / last |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|---|");
    println!(
        "| {subscribers} × {releases} | {users} × 3 | {} | {:.1} s | {:.1} s | {:.3} | {} | {} | {} | {:.1} s / {:.1} s / {:.1} s |",
        sent.len(),
        minimum.as_secs_f64(),
        took.as_secs_f64(),
        took.as_secs_f64() / minimum.as_secs_f64(),
        tg.too_many(),
        tg.violations().len(),
        if complete { "yes" } else { "NO" },
        percentile(&answer_waits, 0.5).as_secs_f64(),
        percentile(&answer_waits, 0.95).as_secs_f64(),
        answer_waits
            .last()
            .copied()
            .unwrap_or_default()
            .as_secs_f64(),
    );
    assert_eq!(sent.len(), expected, "nothing lost, nothing twice");
}
