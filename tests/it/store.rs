//! Store maintenance: export/import round trip (seen items, source state, pending deliveries,
//! dead letters, destination state), import refusing a non-empty store, and the CLI commands.

use crate::support;

use policy_watch::records::{Delivery, Destination, Payload};
use policy_watch::store::{PollEntry, Store, StoreError};
use support::feeds::FeedServer;
use support::telegram::{ChatStatus, Fault, Limits, TelegramServer};
use support::*;

const LIMITS: Limits = Limits {
    global_per_second: 30,
    group_per_minute: 600,
    private_per_second: 10,
};

fn export_text(store: &Store) -> String {
    let mut out = Vec::new();
    store.export(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A store with something in every tree.
async fn populated(state: &StateDir) {
    let feeds = FeedServer::start().await;
    feeds.bytes("/f.xml", numbered_feed(4), "application/rss+xml");
    let telegram = TelegramServer::start(Some(LIMITS)).await;
    telegram.set_chat("-1002", ChatStatus::NotMember);
    telegram.fail("-1001", [Fault::TooLong]);
    let destinations = [destination("-1001", None), destination("-1002", None)].concat();
    let config = format!(
        "{}{}",
        config_text(&feed_source("f", &feeds.url("/f.xml"), "backfill = 4")),
        telegram_section(&telegram, LIMITS, &destinations)
    );
    let report = once_telegram(&config, state).await;
    // 3 notices (one to -1001 went to the dead letters) and 2 alerts to the admin.
    assert_eq!(report.delivered, 5);
    assert_eq!(report.pending, 4, "-1002's notices are parked");
}

#[tokio::test]
async fn export_then_import_restores_everything_exactly() {
    let original = StateDir::new();
    populated(&original).await;
    let store = original.open();
    let exported = export_text(&store);
    let stats = store.stats().unwrap();
    for tree in [
        "seen",
        "sources",
        "outbox",
        "titles",
        "dead",
        "destinations",
        "archive",
    ] {
        let keys = stats.trees.iter().find(|(t, _)| t == tree).unwrap().1;
        assert!(
            keys > 0,
            "tree {tree} is empty: the test would prove nothing"
        );
    }
    drop(store);

    let restored = StateDir::new();
    let store = restored.open();
    let count = store.import(exported.as_bytes()).unwrap();
    assert_eq!(count, exported.lines().count() - 1);
    assert_eq!(
        export_text(&store),
        exported,
        "a second export is identical"
    );
    assert_eq!(store.outbox_len(), 4);
    assert_eq!(store.dead_letters().unwrap().len(), 1);
    assert!(store.is_seen("f", "g:n1").unwrap());
    assert!(store.source_state("f").unwrap().baselined);

    // New deliveries continue after the imported ones (the sequence counter came along).
    let last = store.outbox_iter().map(|e| e.unwrap().0).max().unwrap();
    let seq = store
        .enqueue(&Delivery {
            destination: Destination::Stdout,
            payload: Payload::Alert { text: "x".into() },
            attempts: 0,
            plain: false,
        })
        .unwrap();
    assert!(seq > last, "{seq} after {last}");

    // Importing again into the now non-empty store is refused, and changes nothing.
    let before = export_text(&store);
    match store.import(exported.as_bytes()) {
        Err(StoreError::NotEmpty { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(export_text(&store), before);
}

#[tokio::test]
async fn an_export_from_a_newer_schema_is_refused() {
    let state = StateDir::new();
    let store = state.open();
    let newer = "{\"policy_watch_export\":1,\"schema_version\":99}\n";
    let err = store.import(newer.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

/// The binary with `args` on the store in `dir`, and an empty config (store maintenance needs
/// none) in `home`'s directory.
fn store_command(home: &StateDir, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let config = home.dir.path().join("c.toml");
    std::fs::write(&config, "").unwrap();
    support::process::policy_watch([
        "--config",
        config.to_str().unwrap(),
        "--state-dir",
        dir.to_str().unwrap(),
    ])
    .args(args)
    .output()
    .unwrap()
}

#[tokio::test]
async fn store_commands_work_on_the_binary() {
    let original = StateDir::new();
    populated(&original).await;
    let run = |args: &[&str], dir: &std::path::Path| {
        let mut full = vec!["store"];
        full.extend_from_slice(args);
        store_command(&original, dir, &full)
    };
    let stats = run(&["stats"], &original.path());
    assert_eq!(
        stats.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(text.contains("pending:      4 deliveries"), "{text}");
    assert!(text.contains("dead letters: 1"), "{text}");

    let backup = original.dir.path().join("backup.jsonl");
    let export = run(
        &["export", "--output", backup.to_str().unwrap()],
        &original.path(),
    );
    assert_eq!(
        export.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let restored = original.dir.path().join("restored");
    let import = run(&["import", backup.to_str().unwrap()], &restored);
    assert_eq!(
        import.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let again = run(&["import", backup.to_str().unwrap()], &restored);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The feed still lists its 4 items: pruning keeps them, however old.
    let prune = run(&["prune", "--older-than", "0s"], &restored);
    assert!(
        String::from_utf8_lossy(&prune.stdout)
            .contains("pruned 0 seen items not listed by their source for 0s; 4 older ones kept"),
        "{}",
        String::from_utf8_lossy(&prune.stdout)
    );
}

/// A new item that sends nothing and is not archived: only its key matters.
fn bare_entry(key: &str) -> policy_watch::store::PollEntry {
    policy_watch::store::PollEntry {
        key: key.to_owned(),
        title_key: None,
        deliveries: Vec::new(),
        digests: Vec::new(),
        archive: None,
        baseline: false,
    }
}

/// `store prune --dry-run` previews and writes nothing; `store import --dry-run` is refused.
#[tokio::test]
async fn store_prune_dry_run_changes_nothing() {
    let state = StateDir::new();
    let store = state.open();
    let mut listing = policy_watch::store::Listing::default();
    listing.push("g:kept", None);
    store
        .commit_poll(
            "f",
            &[bare_entry("g:gone"), bare_entry("g:kept")],
            &listing,
            &Default::default(),
            &Default::default(),
            None,
        )
        .unwrap();
    let before = export_text(&store);
    drop(store);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let run = |args: &[&str]| store_command(&state, &state.path(), args);
    let preview = run(&["--dry-run", "store", "prune", "--older-than", "0s"]);
    let stdout = String::from_utf8_lossy(&preview.stdout);
    assert_eq!(preview.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("would forget 1 seen items"), "{stdout}");
    assert!(
        stdout.contains("f: 1") && stdout.contains("nothing was changed"),
        "{stdout}"
    );
    assert_eq!(
        export_text(&state.open()),
        before,
        "the dry run wrote nothing"
    );
    std::thread::sleep(std::time::Duration::from_millis(300));

    let import = run(&["--dry-run", "store", "import", "x.jsonl"]);
    assert_eq!(import.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&import.stderr)
            .contains("--dry-run does not apply to store import"),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
}

/// An item is forgotten `keep_seen` after its source stopped listing it, not after it was first
/// seen: a poll that no longer lists it marks it present until then (and one that still lists
/// it writes nothing for it).
#[tokio::test]
async fn pruning_counts_from_when_a_source_stopped_listing_an_item() {
    let state = StateDir::new();
    let store = state.open();
    let listing = |keys: &[&str]| {
        let mut l = policy_watch::store::Listing::default();
        for k in keys {
            l.push(k, None);
        }
        l
    };
    let first = listing(&["g:a", "g:b"]);
    let none = policy_watch::store::Listing::default();
    let state_record = Default::default();
    store
        .commit_poll(
            "f",
            &[bare_entry("g:a"), bare_entry("g:b")],
            &first,
            &none,
            &state_record,
            None,
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3100));
    // The next poll lists only b: a was present until now.
    let second = listing(&["g:b"]);
    store
        .commit_poll("f", &[], &second, &first, &state_record, None)
        .unwrap();
    let window = std::time::Duration::from_secs(2);
    let report = store.prune_seen(window, false).unwrap();
    assert_eq!(
        report.seen_total(),
        0,
        "a left the listing just now: {report:?}"
    );
    assert!(store.is_seen("f", "g:a").unwrap());
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let report = store.prune_seen(window, false).unwrap();
    assert_eq!(report.seen_total(), 1, "{report:?}");
    assert!(!store.is_seen("f", "g:a").unwrap());
    assert!(store.is_seen("f", "g:b").unwrap(), "b is still listed");
}

/// The `archive` records of an export.
fn archive_records(exported: &str) -> Vec<serde_json::Value> {
    exported
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["tree"] == "archive")
        .collect()
}

/// A store written while the archive was a sled tree: opening it moves the items into the
/// archive's files (newest first as before, exported as before) and drops the tree.
#[tokio::test]
async fn the_old_archive_tree_is_moved_into_files_when_the_store_opens() {
    let original = StateDir::new();
    populated(&original).await;
    let exported = export_text(&original.open());
    let archived = archive_records(&exported);
    assert_eq!(archived.len(), 4, "the feed's four items");

    // The layout of the older version, written with sled itself.
    let state = StateDir::new();
    let dir = state.path();
    {
        let db = sled::open(&dir).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &1u32.to_be_bytes())
            .unwrap();
        let tree = db.open_tree("archive").unwrap();
        for record in &archived {
            let key = match (record["key"].as_str(), record["key_hex"].as_str()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(hex)) => (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect(),
                _ => panic!("{record}"),
            };
            tree.insert(key, serde_json::to_vec(&record["value"]).unwrap())
                .unwrap();
        }
        db.flush().unwrap();
    }
    assert!(!dir.join("archive").exists(), "no files yet");

    let store = state.open();
    let mut titles: Vec<String> = store
        .archived(10)
        .unwrap()
        .into_iter()
        .map(|n| n.item.title)
        .collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    let original_order: Vec<String> = original
        .open()
        .archived(10)
        .unwrap()
        .into_iter()
        .map(|n| n.item.title)
        .collect();
    assert_eq!(titles, original_order, "newest first, as before");
    assert_eq!(
        store.stats().unwrap().schema_version,
        2,
        "the layout is marked moved"
    );
    titles.sort();
    assert!(titles.contains(&numbered_title(1)), "{titles:?}");
    let archive_lines = |export: &str| -> Vec<String> {
        export
            .lines()
            .filter(|l| l.contains(r#""tree":"archive""#))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        archive_lines(&export_text(&store)),
        archive_lines(&exported),
        "exported as before"
    );
    drop(store);
    let started = std::time::Instant::now();
    let db = loop {
        match sled::open(&dir) {
            Ok(db) => break db,
            Err(_) if started.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert!(
        !db.tree_names().iter().any(|n| n.as_ref() == b"archive"),
        "the tree is dropped"
    );
    assert!(std::fs::read_dir(dir.join("archive")).unwrap().count() >= 1);
}

/// A store written before the archive existed kept `/recent`'s notices in `history`: opening it
/// moves them into the archive, where `/recent` (and `/search`) find them.
#[tokio::test]
async fn the_old_history_tree_is_moved_into_the_archive_when_the_store_opens() {
    let original = StateDir::new();
    populated(&original).await;
    let exported = export_text(&original.open());
    let header = exported.lines().next().unwrap();
    let archived = archive_records(&exported);
    assert_eq!(archived.len(), 4, "the feed's four items");
    // The same notices as an older version kept them: in `history`, under sequence keys.
    let mut old = format!("{header}\n");
    for (seq, record) in archived.iter().enumerate() {
        let line = serde_json::json!({
            "tree": "history", "key_hex": format!("{seq:016x}"), "value": record["value"]
        });
        old.push_str(&format!("{line}\n"));
    }
    let state = StateDir::new();
    let store = state.open();
    store.import(old.as_bytes()).unwrap();
    assert!(store.recent(None, 10).unwrap().is_empty(), "not moved yet");
    drop(store);

    let store = state.open();
    let recent: Vec<String> = store
        .recent(None, 10)
        .unwrap()
        .into_iter()
        .map(|n| n.item.title)
        .collect();
    assert_eq!(recent.len(), 4, "{recent:?}");
    assert!(recent.contains(&numbered_title(1)), "{recent:?}");
    let history = store.stats().unwrap().trees;
    assert_eq!(
        history.iter().find(|(t, _)| t == "history").unwrap().1,
        0,
        "moved, not copied"
    );
}

/// Polls committed together (the ingest stage's group commit) are recorded as one at a time
/// would be: each source its own state and listing; a release whose title an earlier poll of
/// the group brought is recorded but not queued again; the outbox order follows the group.
#[tokio::test]
async fn polls_committed_together_see_each_others_titles() {
    use policy_watch::store::{Listing, PollCommit, SourceState};
    let state = StateDir::new();
    let store = state.open();
    let title = policy_watch::ingest::title_key("AI 반도체 육성 전략 발표");
    let alert = |text: &str| Delivery {
        destination: Destination::Stdout,
        payload: Payload::Alert { text: text.into() },
        attempts: 0,
        plain: false,
    };
    let entry = |key: &str, text: &str| policy_watch::store::PollEntry {
        title_key: title,
        deliveries: vec![alert(text)],
        ..bare_entry(key)
    };
    let (a_entries, b_entries) = ([entry("g:a1", "from a")], [entry("g:b1", "from b")]);
    let listing = |key: &str| {
        let mut l = Listing::default();
        l.push(key, title);
        l
    };
    let (a_listing, b_listing, none) = (listing("g:a1"), listing("g:b1"), Listing::default());
    let a_state = SourceState {
        items_seen: 1,
        ..Default::default()
    };
    let b_state = SourceState {
        items_seen: 7,
        ..Default::default()
    };
    let reports = store
        .commit_polls(&[
            PollCommit {
                source_id: "a",
                entries: &a_entries,
                listing: &a_listing,
                previous: &none,
                state: &a_state,
                hold: None,
            },
            PollCommit {
                source_id: "b",
                entries: &b_entries,
                listing: &b_listing,
                previous: &none,
                state: &b_state,
                hold: None,
            },
        ])
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!((reports[0].new, reports[0].queued), (1, 1), "{reports:?}");
    assert_eq!(
        (
            reports[1].new,
            reports[1].queued,
            reports[1].title_duplicates
        ),
        (1, 0, 1),
        "b's copy of a's release: {reports:?}"
    );
    assert!(store.is_seen("a", "g:a1").unwrap() && store.is_seen("b", "g:b1").unwrap());
    assert!(!store.is_seen("a", "g:b1").unwrap());
    assert_eq!(store.source_state("a").unwrap().items_seen, 1);
    assert_eq!(store.source_state("b").unwrap().items_seen, 7);
    assert_eq!(store.listing("b").unwrap().keys, vec!["g:b1".to_owned()]);
    let queued: Vec<Payload> = store.outbox_iter().map(|e| e.unwrap().1.payload).collect();
    assert!(
        matches!(&queued[..], [Payload::Alert { text }] if text == "from a"),
        "{queued:?}"
    );
    // The next group continues the sequence after this one.
    let c_entries = [PollEntry {
        title_key: None,
        ..entry("g:c1", "from c")
    }];
    let report = store
        .commit_poll(
            "c",
            &c_entries,
            &Listing::default(),
            &none,
            &SourceState::default(),
            None,
        )
        .unwrap();
    assert_eq!(report.queued, 1);
    let texts: Vec<String> = store
        .outbox_iter()
        .map(|e| match e.unwrap().1.payload {
            Payload::Alert { text } => text,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, ["from a", "from c"]);
}
