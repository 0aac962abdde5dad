//! `/search` over the archive: 50,000 archived items (a decade of both ministries and korea.kr
//! at today's rate; a year is about 5,000) in a real sled store on disk, searched the way the
//! bot does (`Store::search` with the bot's matcher), newest first.
//!
//! Queries: a word in no item (the worst case: the whole archive is read), a word in 1 % of the
//! items, and a common word (the newest 20 are near the top). Median of 5 runs each, after one
//! warm-up run (the first run after opening reads the tree from disk: reported separately).
//!
//! Run: `cargo bench --bench search` (prints a markdown table; figures go to docs/benchmarks.md).
//! `SEARCH_ITEMS=N` changes the archive size.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use policy_watch::classify::Keywords;
use policy_watch::items::Item;
use policy_watch::records::Notice;
use policy_watch::store::{PollEntry, SourceState, Store};

fn main() {
    let items: usize = std::env::var("SEARCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut base = Vec::new();
    for file in ["dev_headlines.jsonl", "dev_press_2024_2026.jsonl"] {
        base.extend(
            policy_watch::eval::load(&root.join("tests/data").join(file))
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store"), 16 * 1024 * 1024).unwrap();
    let started = Instant::now();
    let start = Utc.with_ymd_and_hms(2016, 12, 1, 0, 0, 0).unwrap();
    for batch in 0..items.div_ceil(1000) {
        let entries: Vec<PollEntry> = (batch * 1000..((batch + 1) * 1000).min(items))
            .map(|i| {
                let doc = &base[i % base.len()];
                // 1 % of the items carry the word the "rare" query looks for.
                let marker = if i % 100 == 37 {
                    " 모아팹 연계"
                } else {
                    ""
                };
                let title = format!("{}{marker} (제{i}호)", doc.title);
                let published = start + chrono::Duration::minutes(i as i64 * 105);
                let item = Item::new(
                    Some(&format!("g{i}")),
                    &title,
                    None,
                    doc.summary.as_deref(),
                    Some(published),
                );
                let notice = Notice {
                    source_id: "bench".into(),
                    source_name: "보도자료".into(),
                    ministry: "과학기술정보통신부".into(),
                    item,
                    topics: Vec::new(),
                    seen_at: published,
                    watched: Vec::new(),
                    attachments: Vec::new(),
                    files_page: None,
                };
                PollEntry {
                    key: format!("g:{i}"),
                    title_key: None,
                    deliveries: Vec::new(),
                    digests: Vec::new(),
                    archive: Some(notice),
                    baseline: false,
                }
            })
            .collect();
        store
            .commit_poll(
                "bench",
                &entries,
                &Default::default(),
                &Default::default(),
                &SourceState::default(),
                None,
            )
            .unwrap();
    }
    store.flush_blocking().unwrap();
    let filled = started.elapsed();
    let size = store.stats().unwrap().size_on_disk;
    drop(store);
    println!(
        "archive: {items} items written in {:.1} s, {:.1} MB on disk\n",
        filled.as_secs_f64(),
        size as f64 / 1e6
    );

    let store = Store::open(&dir.path().join("store"), 16 * 1024 * 1024).unwrap();
    println!("| query | results | first run (cold) | median of 5 |");
    println!("|---|---|---|---|");
    for (query, n, what) in [
        ("소행성탐사", 5, "in no item: whole archive read"),
        ("모아팹", 5, "in 1 % of the items"),
        ("모아팹", 20, "in 1 % of the items"),
        ("반도체", 20, "common"),
    ] {
        let words = Keywords::new([query]).unwrap();
        let run = || {
            let t = Instant::now();
            let found = store.search(&words, n).unwrap();
            (found.len(), t.elapsed())
        };
        let (count, cold) = run();
        let mut times: Vec<Duration> = (0..5).map(|_| run().1).collect();
        times.sort();
        println!(
            "| `/search {query} {n}` ({what}) | {count} | {:.0} ms | {:.0} ms |",
            cold.as_secs_f64() * 1e3,
            times[2].as_secs_f64() * 1e3
        );
    }
}
