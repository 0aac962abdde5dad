//! Classification throughput: the shipped topics and a 1,000-keyword config over ≥ 10 MB of
//! real-shaped items (the dev headlines and summaries, repeated), against a naive baseline that
//! runs `str::contains` for every keyword on the normalised text.
//!
//! Also the memory of a watch-word matcher for 1,000 chats × 20 words.
//!
//! Run: `cargo bench --bench classify` (prints a markdown table; figures go to docs/benchmarks.md).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use policy_watch::classify::{Classifier, Keywords};
use policy_watch::config::Config;
use policy_watch::fold::{fold_keyword, normalize};

struct Doc {
    title: String,
    summary: String,
}

fn corpus(min_bytes: usize) -> Vec<Doc> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base: Vec<Doc> = policy_watch::eval::load(&root.join("tests/data/dev_headlines.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|item| Doc {
            title: item.title,
            summary: item.summary.unwrap_or_default(),
        })
        .collect();
    let mut docs = Vec::new();
    let mut bytes = 0;
    let mut round = 0;
    while bytes < min_bytes {
        for d in &base {
            // Vary each copy a little so nothing is trivially cached.
            let doc = Doc {
                title: format!("{} ({round})", d.title),
                summary: d.summary.clone(),
            };
            bytes += doc.title.len() + doc.summary.len();
            docs.push(doc);
        }
        round += 1;
    }
    docs
}

fn shipped() -> Config {
    Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy-watch.toml")).unwrap()
}

/// A reproducible stream of pseudo-random numbers from `seed` (xorshift64).
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// 1,000 keywords over 12 topics: the shipped keywords plus generated Hangul/Latin terms.
fn thousand_keywords() -> Config {
    let shipped = shipped();
    let mut keywords: Vec<String> = shipped
        .topics
        .iter()
        .flat_map(|t| t.keywords.iter().chain(&t.strong).cloned())
        .collect();
    let syllables: Vec<char> =
        "가나다라마바사아자차카타파하반도체인공지능모델기술산업정책연구개발혁신"
            .chars()
            .collect();
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    while keywords.len() < 1000 {
        let n = 2 + (next() % 4) as usize;
        let mut k: String = (0..n)
            .map(|_| syllables[(next() % syllables.len() as u64) as usize])
            .collect();
        if next().is_multiple_of(5) {
            k = format!("K{} {k}", (b'A' + (next() % 26) as u8) as char);
        }
        keywords.push(k);
    }
    keywords.truncate(1000);
    let mut text = String::from("[classify]\nanchors = [\"AI\", \"인공지능\", \"반도체\"]\n");
    for (t, chunk) in keywords.chunks(1000usize.div_ceil(12)).enumerate() {
        let list: Vec<String> = chunk.iter().map(|k| format!("{k:?}")).collect();
        text.push_str(&format!(
            "[[topic]]\nid = \"t{t}\"\nname = \"T{t}\"\nhashtag = \"#T{t}\"\nkeywords = [{}]\n",
            list.join(", ")
        ));
    }
    Config::parse(Path::new("bench.toml"), &text).unwrap()
}

fn all_keywords(config: &Config) -> Vec<String> {
    config
        .topics
        .iter()
        .flat_map(|t| {
            t.keywords
                .iter()
                .chain(&t.strong)
                .chain(&t.generic)
                .chain(&t.exclude)
        })
        .chain(&config.classify.anchors)
        .chain(&config.classify.exclude)
        .map(|k| fold_keyword(k))
        .collect()
}

/// Runs `f` over the corpus `rounds` times and returns the best time.
fn best_of(rounds: usize, mut f: impl FnMut() -> usize) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(f());
        best = best.min(start.elapsed());
    }
    best
}

/// The watch words of 1,000 chats with 20 words each (2–4 common syllables, distinct enough):
/// what the matcher of every subscriber's words holds.
fn watch_words() {
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let words: Vec<String> = (0..20_000)
        .map(|_| {
            let n = 2 + (next() % 3) as usize;
            (0..n)
                .map(|_| char::from_u32(0xAC00 + (next() % 2350) as u32).unwrap())
                .collect()
        })
        .collect();
    let started = Instant::now();
    let keywords = Keywords::new(words.iter().map(String::as_str)).unwrap();
    eprintln!(
        "watch words: {} words, automaton {:.1} MB, built in {:.0} ms",
        keywords.len(),
        keywords.automaton_bytes() as f64 / 1e6,
        started.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    watch_words();
    let docs = corpus(10 * 1024 * 1024);
    let bytes: usize = docs.iter().map(|d| d.title.len() + d.summary.len()).sum();
    let mb = bytes as f64 / (1024.0 * 1024.0);
    println!("corpus: {} items, {:.1} MB", docs.len(), mb);
    println!();
    println!("| config | keywords | engine | time | MB/s | items/s | speed-up |");
    println!("|---|---:|---|---:|---:|---:|---:|");
    for (name, config) in [
        ("shipped", shipped()),
        ("1,000 keywords", thousand_keywords()),
    ] {
        let started = Instant::now();
        let classifier = Classifier::new(&config.classify, &config.topics).unwrap();
        eprintln!(
            "{name}: classifier built in {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        let patterns = all_keywords(&config);
        let engine = best_of(5, || {
            docs.iter()
                .map(|d| classifier.classify(&d.title, &d.summary).len())
                .sum()
        });
        // `CLASSIFY_ONLY=1`: the engine alone (for a profiler); the naive loop and the
        // normalisation-alone rounds are skipped.
        let naive_rounds = if std::env::var("CLASSIFY_ONLY").is_ok_and(|v| v == "1") {
            0
        } else {
            5
        };
        let naive = best_of(naive_rounds, || {
            docs.iter()
                .map(|d| {
                    let title = normalize(&d.title).folded;
                    let summary = normalize(&d.summary).folded;
                    patterns
                        .iter()
                        .filter(|p| title.contains(p.as_str()) || summary.contains(p.as_str()))
                        .count()
                })
                .sum()
        });
        let normalise_only = best_of(naive_rounds.min(3), || {
            docs.iter()
                .map(|d| normalize(&d.title).folded.len() + normalize(&d.summary).folded.len())
                .sum()
        });
        if normalise_only != Duration::MAX {
            eprintln!(
                "{name}: normalisation alone {:.3} s",
                normalise_only.as_secs_f64()
            );
        }
        for (label, time) in [
            ("aho-corasick (classify)", engine),
            ("naive contains", naive),
        ] {
            if time == Duration::MAX {
                continue;
            }
            println!(
                "| {name} | {} | {label} | {:.2} s | {:.1} | {:.0} | {} |",
                patterns.len(),
                time.as_secs_f64(),
                mb / time.as_secs_f64(),
                docs.len() as f64 / time.as_secs_f64(),
                match label.starts_with("aho") {
                    _ if naive == Duration::MAX => "–".to_owned(),
                    true => format!("{:.1}×", naive.as_secs_f64() / engine.as_secs_f64()),
                    false => "1×".to_owned(),
                }
            );
        }
    }
}
