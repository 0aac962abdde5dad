//! The shipped topics against real, labelled ministry releases (tests/data: the 118 dev
//! headlines and 195 releases of 2024–2026, curated; and every release of two whole months,
//! November 2024 and March 2026, as a reader lives them): item and per-topic precision, recall
//! and F1 on each file, on the curated files' union and on the whole months, with floors on
//! both.
//!
//! Run with `cargo test --test it classify_quality:: -- --nocapture` to see the tables and every
//! error with its reason (the same report as `policy-watch eval tests/data/*.jsonl`).

use std::path::{Path, PathBuf};

use policy_watch::classify::Classifier;
use policy_watch::config::Config;
use policy_watch::eval::{self, Counts, Labelled, Report};

/// The repository's own copies, so that every clone tests the same data.
fn data_files() -> Vec<PathBuf> {
    ["dev_headlines.jsonl", "dev_press_2024_2026.jsonl"]
        .iter()
        .map(|f| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(f)
        })
        .collect()
}

fn shipped_classifier() -> (Classifier, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy-watch.toml");
    let config = Config::load(&path).unwrap();
    let ids = config.topics.iter().map(|t| t.id().to_owned()).collect();
    (
        Classifier::new(&config.classify, &config.topics).unwrap(),
        ids,
    )
}

fn line(name: &str, c: &Counts) {
    println!("{}", c.row(name));
}

fn print(name: &str, r: &Report) {
    println!("\n{name}: {} items", r.items);
    println!("{}", eval::TABLE_HEADER);
    line("relevant (item)", &r.item);
    line("  high confidence", &r.high);
    line("topics (micro)", &r.micro);
    for t in &r.topics {
        line(&t.id, &t.counts);
    }
}

/// Topics whose recall on the union may sit under the floor, with the reason (none now).
const RECALL_EXCEPTIONS: &[(&str, &str)] = &[];

/// Every release of two whole months (tests/data/dev_months_2024-11_2026-03.jsonl): what a
/// subscriber receives. The floors are the targets, P ≥ 0.90, R ≥ 0.85 (high: 0.95 /
/// 0.95), which the shipped config reaches (docs/relevance.md): a regression fails.
#[test]
fn shipped_topics_on_whole_months() {
    let (classifier, topic_ids) = shipped_classifier();
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dev_months_2024-11_2026-03.jsonl");
    let items = eval::load(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.len(), 461, "the whole months, nothing left out");
    for (name, prefix) in [("November 2024", "m2411"), ("March 2026", "m2603")] {
        let month: Vec<Labelled> = items
            .iter()
            .filter(|i| i.id.starts_with(prefix))
            .cloned()
            .collect();
        print(name, &eval::evaluate(&classifier, &topic_ids, &month));
    }
    let report = eval::evaluate(&classifier, &topic_ids, &items);
    print("whole months", &report);
    for e in &report.errors {
        println!("{}", e.line());
    }
    let floors = [
        ("item precision", report.item.precision(), 0.90),
        ("item recall", report.item.recall(), 0.85),
        ("high-confidence precision", report.high.precision(), 0.95),
        ("high-confidence recall", report.high.recall(), 0.95),
    ];
    for (what, value, floor) in floors {
        assert!(value >= floor, "whole months: {what} {value:.3} < {floor}");
    }
}

#[test]
fn shipped_topics_meet_the_quality_floors_on_real_releases() {
    let (classifier, topic_ids) = shipped_classifier();
    let mut union: Vec<Labelled> = Vec::new();
    let mut report: Option<Report> = None;
    for file in data_files() {
        let items = eval::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let file_report = eval::evaluate(&classifier, &topic_ids, &items);
        print(&file.file_name().unwrap().to_string_lossy(), &file_report);
        match &mut report {
            None => report = Some(file_report),
            Some(r) => r.absorb(file_report),
        }
        union.extend(items);
    }
    let report = report.unwrap();
    assert!(
        union.len() >= 300,
        "dev data missing or truncated: {}",
        union.len()
    );
    // The sum of the files' reports is the report of their union.
    let direct = eval::evaluate(&classifier, &topic_ids, &union);
    assert_eq!(
        (report.items, report.item, report.high, report.micro),
        (direct.items, direct.item, direct.high, direct.micro)
    );
    assert_eq!(report.errors.len(), direct.errors.len());
    print("union", &report);
    assert!(
        report.unknown_labels.is_empty(),
        "labels without a topic: {:?}",
        report.unknown_labels
    );
    for e in &report.errors {
        println!("{}", e.line());
    }

    // Floors on the union (the relevance issue); a regression below them fails.
    assert!(
        report.item.precision() >= 0.95,
        "item precision {:.3}",
        report.item.precision()
    );
    assert!(
        report.item.recall() >= 0.92,
        "item recall {:.3}",
        report.item.recall()
    );
    assert!(
        report.micro.f1() >= 0.85,
        "topic micro F1 {:.3}",
        report.micro.f1()
    );
    for t in &report.topics {
        if RECALL_EXCEPTIONS.iter().any(|(id, _)| *id == t.id) {
            continue;
        }
        assert!(
            t.counts.labelled() == 0 || t.counts.recall() >= 0.70,
            "{} recall {:.3} is under 0.70",
            t.id,
            t.counts.recall()
        );
    }
}
