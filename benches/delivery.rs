//! Delivery under Telegram's real limits, against the fake Bot API server (which enforces them):
//! a burst of 200 notices to one channel (20/min) and one notice fanned out to 300 private chats
//! (30/s overall). Reports the completion time as a ratio to the theoretical minimum and the 429s.
//!
//! Run: `cargo bench --bench delivery` (about 11 minutes: the burst alone needs ≥ 597 s).
//! `DELIVERY_BENCH_SCALE=10` divides every limit's period by 10 for a quick look.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::time::Duration;

use support::feeds::FeedServer;
use support::telegram::{Limits, TelegramServer};
use support::*;

async fn scenario(name: &str, limits: Limits, items: usize, chats: &[String], minimum: Duration) {
    let feeds = FeedServer::start().await;
    feeds.bytes("/f.xml", numbered_feed(items), "application/rss+xml");
    let telegram = TelegramServer::start(Some(limits)).await;
    let destinations: String = chats.iter().map(|c| destination(c, None)).collect();
    let config = format!(
        "{}{}",
        config_text(&feed_source(
            "f",
            &feeds.url("/f.xml"),
            &format!("backfill = {items}")
        )),
        telegram_section(&telegram, limits, &destinations)
    );
    let state = StateDir::new();
    let report = once_telegram(&config, &state).await;
    let sent = telegram.sent();
    assert_eq!(
        report.delivered,
        items * chats.len(),
        "{name}: everything delivered"
    );
    let first = sent.iter().map(|s| s.at).min().unwrap();
    let last = sent.iter().map(|s| s.at).max().unwrap();
    let took = last - first;
    println!(
        "| {name} | {} | {:.1} s | {:.1} s | {:.3} | {} |",
        sent.len(),
        minimum.as_secs_f64(),
        took.as_secs_f64(),
        took.as_secs_f64() / minimum.as_secs_f64(),
        telegram.too_many()
    );
}

#[tokio::main]
async fn main() {
    let scale: u32 = std::env::var("DELIVERY_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let limits = Limits {
        global_per_second: Limits::REAL.global_per_second * scale,
        group_per_minute: Limits::REAL.group_per_minute * scale,
        private_per_second: Limits::REAL.private_per_second * scale,
    };
    println!("limits: {limits:?}");
    println!("| scenario | messages | theoretical minimum | took (first→last) | ratio | 429s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let fan_out: Vec<String> = (1..=300).map(|i| (1_000_000 + i).to_string()).collect();
    let global = Duration::from_secs(1) / limits.global_per_second;
    scenario(
        "fan-out: 1 notice → 300 private chats",
        limits,
        1,
        &fan_out,
        global * 299,
    )
    .await;
    let group = Duration::from_secs(60) / limits.group_per_minute;
    scenario(
        "burst: 200 notices → 1 channel",
        limits,
        200,
        &["-1001".to_owned()],
        group * 199,
    )
    .await;
}
