//! The whole pipeline (poll → ingest → outbox → dry-run sink) over loopback HTTP and a real sled
//! directory: baseline, restart, new items exactly once, broken sources, URL changes.

mod support;

use std::sync::{Arc, Mutex};

use support::feeds::{FeedServer, Reply, fixture};
use support::*;

/// A feed whose content the test can change between polls.
fn mutable_feed(server: &FeedServer, path: &str, initial: Vec<u8>) -> Arc<Mutex<Vec<u8>>> {
    let body = Arc::new(Mutex::new(initial));
    let shared = Arc::clone(&body);
    server.route(path, move |_| {
        Reply::ok("application/rss+xml", shared.lock().unwrap().clone())
    });
    body
}

const BASE: &[(&str, &str)] = &[
    ("n3", "국산 AI칩 실증 확대"),
    ("n2", "과기정통부 과장급 인사"),
    ("n1", "NPU 팹리스 지원 공고"),
];

#[tokio::test]
async fn baseline_sends_nothing_and_new_items_arrive_exactly_once() {
    let server = FeedServer::start().await;
    let body = mutable_feed(&server, "/f.xml", rss_feed(BASE));
    let config = config_text(&feed_source("f", &server.url("/f.xml"), ""));
    let state = StateDir::new();

    // First poll: a baseline. Everything recorded, nothing sent, matches previewed.
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.delivered, 0);
    assert_eq!(report.ingest.new_items, 3);
    assert!(sent_titles(&out).is_empty(), "{out}");
    assert_eq!(
        previewed_titles(&out),
        vec!["NPU 팹리스 지원 공고", "국산 AI칩 실증 확대"]
    );

    // Restart on the same store: nothing new, nothing sent.
    let (report, out) = once(&config, &state).await;
    assert_eq!((report.delivered, report.ingest.new_items), (0, 0));
    assert!(out.is_empty(), "{out}");

    // Two new items, one on-topic: exactly that one is sent.
    let mut items = vec![
        ("n5", "AI반도체 협업포럼 개최"),
        ("n4", "전기차 충전기 재검정"),
    ];
    items.extend_from_slice(BASE);
    *body.lock().unwrap() = rss_feed(&items);
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, 2);
    assert_eq!(sent_titles(&out), vec!["AI반도체 협업포럼 개최"]);
    assert!(previewed_titles(&out).is_empty());
    // The notice carries the link, the source, the KST date and the topic hashtag.
    assert!(out.contains("https://f.example/n5"), "{out}");
    assert!(
        out.contains("시험부 · f 보도자료 · 2026-11-25 10:00 KST"),
        "{out}"
    );
    assert!(out.contains("#AI반도체 (AI반도체)"), "{out}");

    // And never again.
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.delivered, 0);
    assert!(out.is_empty(), "{out}");
}

#[tokio::test]
async fn new_items_are_sent_oldest_first() {
    let server = FeedServer::start().await;
    let body = mutable_feed(&server, "/f.xml", rss_feed(BASE));
    let config = config_text(&feed_source("f", &server.url("/f.xml"), ""));
    let state = StateDir::new();
    once(&config, &state).await;
    let mut items = vec![
        ("n7", "세 번째 AI반도체 소식"),
        ("n6", "두 번째 NPU 소식"),
        ("n5", "첫 번째 GPU 소식"),
    ];
    items.extend_from_slice(BASE);
    *body.lock().unwrap() = rss_feed(&items);
    let (_, out) = once(&config, &state).await;
    assert_eq!(
        sent_titles(&out),
        vec![
            "첫 번째 GPU 소식",
            "두 번째 NPU 소식",
            "세 번째 AI반도체 소식"
        ]
    );
}

#[tokio::test]
async fn backfill_sends_the_newest_matching_items_on_the_first_poll() {
    let server = FeedServer::start().await;
    mutable_feed(&server, "/f.xml", rss_feed(BASE));
    let config = config_text(&feed_source("f", &server.url("/f.xml"), "backfill = 1"));
    let state = StateDir::new();
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.delivered, 1);
    assert_eq!(sent_titles(&out), vec!["국산 AI칩 실증 확대"]);
    assert_eq!(previewed_titles(&out), vec!["NPU 팹리스 지원 공고"]);
}

#[tokio::test]
async fn broken_sources_fail_alone_and_recover() {
    let server = FeedServer::start().await;
    mutable_feed(&server, "/good.xml", rss_feed(BASE));
    server.file("/bad.xml", "malformed.xml", "application/rss+xml");
    let flaky_body = fixture("rss2.xml");
    server.route("/flaky.xml", move |req| {
        if req.hit == 0 {
            Reply::status(500)
        } else {
            Reply::ok("application/rss+xml", flaky_body.clone())
        }
    });
    let sources = [
        feed_source("good", &server.url("/good.xml"), ""),
        feed_source("bad", &server.url("/bad.xml"), ""),
        feed_source("flaky", &server.url("/flaky.xml"), ""),
    ]
    .concat();
    let config = config_text(&sources);
    let state = StateDir::new();

    let (report, _) = once(&config, &state).await;
    let mut failed = report.ingest.failed_sources.clone();
    failed.sort();
    assert_eq!(failed, vec!["bad", "flaky"]);
    assert_eq!(
        report.ingest.new_items, 3,
        "the good source was still recorded"
    );
    let store = state.open();
    let flaky = store.source_state("flaky").unwrap();
    assert_eq!(flaky.consecutive_failures, 1);
    assert!(
        flaky.last_error.as_deref().unwrap().contains("500"),
        "{flaky:?}"
    );
    assert!(!flaky.baselined);
    drop(store);

    // The flaky source recovers: its first good poll is its baseline (nothing sent).
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.failed_sources, vec!["bad"]);
    assert_eq!(report.delivered, 0);
    assert_eq!(previewed_titles(&out).len(), 2, "{out}");
    let store = state.open();
    let flaky = store.source_state("flaky").unwrap();
    assert_eq!((flaky.consecutive_failures, flaky.baselined), (0, true));
    assert_eq!(flaky.last_error, None);
}

#[tokio::test]
async fn a_changed_url_keeps_the_source_history() {
    let server = FeedServer::start().await;
    mutable_feed(&server, "/old.xml", rss_feed(BASE));
    let mut moved = vec![("n4", "AI반도체 신규 과제 공고")];
    moved.extend_from_slice(BASE);
    mutable_feed(&server, "/new.xml", rss_feed(&moved));
    let state = StateDir::new();
    once(
        &config_text(&feed_source("f", &server.url("/old.xml"), "")),
        &state,
    )
    .await;
    let (report, out) = once(
        &config_text(&feed_source("f", &server.url("/new.xml"), "")),
        &state,
    )
    .await;
    assert_eq!(report.ingest.new_items, 1);
    assert_eq!(sent_titles(&out), vec!["AI반도체 신규 과제 공고"]);
}

#[tokio::test]
async fn a_redirected_feed_keeps_its_history() {
    let server = FeedServer::start().await;
    mutable_feed(&server, "/feed.xml", rss_feed(BASE));
    let target = server.url("/feed.xml");
    server.route("/moved", move |_| {
        Reply::status(301).header("location", &target)
    });
    let state = StateDir::new();
    once(
        &config_text(&feed_source("f", &server.url("/feed.xml"), "")),
        &state,
    )
    .await;
    let (report, out) = once(
        &config_text(&feed_source("f", &server.url("/moved"), "")),
        &state,
    )
    .await;
    assert_eq!(report.ingest.failed_sources, Vec::<String>::new());
    assert_eq!((report.ingest.new_items, report.delivered), (0, 0), "{out}");
}

#[tokio::test]
async fn the_same_release_from_two_sources_is_sent_once() {
    let server = FeedServer::start().await;
    let ministry = mutable_feed(&server, "/ministry.xml", rss_feed(BASE));
    let portal = mutable_feed(
        &server,
        "/portal.xml",
        rss_feed(&[("p1", "국산 AI칩 실증 확대")]),
    );
    let sources = [
        feed_source("ministry", &server.url("/ministry.xml"), ""),
        feed_source("portal", &server.url("/portal.xml"), ""),
    ]
    .concat();
    let config = config_text(&sources);
    let state = StateDir::new();
    once(&config, &state).await;

    // The same release appears on both, under different ids and links; the portal adds a tag.
    let mut items = vec![("n9", "AI반도체 특화 펀드 출범")];
    items.extend_from_slice(BASE);
    *ministry.lock().unwrap() = rss_feed(&items);
    *portal.lock().unwrap() = rss_feed(&[
        ("p2", "[보도자료] AI반도체 특화 펀드 출범"),
        ("p1", "국산 AI칩 실증 확대"),
    ]);
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, 2, "both sources saw a new item");
    assert_eq!(report.delivered, 1, "{out}");
    assert_eq!(sent_titles(&out).len(), 1);
}

#[tokio::test]
async fn guidless_feed_is_not_resent() {
    let server = FeedServer::start().await;
    server.file("/g.xml", "guidless.xml", "application/rss+xml");
    let config = config_text(&feed_source("g", &server.url("/g.xml"), ""));
    let state = StateDir::new();
    let (first, _) = once(&config, &state).await;
    assert_eq!(first.ingest.new_items, 2);
    let (second, out) = once(&config, &state).await;
    assert_eq!((second.ingest.new_items, second.delivered), (0, 0), "{out}");
}

#[tokio::test]
async fn not_modified_keeps_state_and_sends_nothing() {
    let server = FeedServer::start().await;
    let body = rss_feed(BASE);
    server.route("/c.xml", move |req| {
        if req.header("if-none-match").as_deref() == Some("\"abc\"") {
            Reply::status(304)
        } else {
            Reply::ok("application/rss+xml", body.clone()).header("etag", "\"abc\"")
        }
    });
    let config = config_text(&feed_source("c", &server.url("/c.xml"), ""));
    let state = StateDir::new();
    once(&config, &state).await;
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.failed_sources, Vec::<String>::new());
    assert!(out.is_empty());
    // The validator came from the store after a restart, verbatim.
    assert_eq!(
        server.requests("/c.xml")[1]
            .header("if-none-match")
            .as_deref(),
        Some("\"abc\"")
    );
    assert_eq!(
        state.open().source_state("c").unwrap().etag.as_deref(),
        Some("\"abc\"")
    );
}
