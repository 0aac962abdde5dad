//! Every release once, none twice: the whole pipeline (poll → ingest → outbox → dry-run sink)
//! over loopback HTTP and a real sled directory — baselines and restarts, URL and settings
//! changes, the same release from two sources, holds, pruning, and hostile feed content (very
//! many items, duplicate guids, edited titles, re-added items, absurd dates).

use crate::support;

use std::sync::{Arc, Mutex};

use support::feeds::{FeedServer, Reply, fixture};
use support::telegram::{Limits, TelegramServer};
use support::*;

/// A feed whose content the test can change between polls.
fn mutable_feed(server: &FeedServer, path: &str, initial: Vec<u8>) -> Arc<Mutex<Vec<u8>>> {
    server.mutable(path, "application/rss+xml", initial)
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
        state
            .open()
            .source_state("c")
            .unwrap()
            .validators
            .etag
            .as_deref(),
        Some("\"abc\"")
    );
}

/// Pruning forgets by when an item was last *listed*, and never what its source still lists:
/// with `keep_seen` behind every item, a poll of the same feed must send nothing again.
#[tokio::test]
async fn pruning_never_forgets_what_the_source_still_lists() {
    let server = FeedServer::start().await;
    let body = mutable_feed(&server, "/f.xml", rss_feed(BASE));
    let config = config_text(&feed_source("f", &server.url("/f.xml"), ""));
    let state = StateDir::new();
    once(&config, &state).await;
    // n1 drops off the feed; n4 arrives (sent once).
    let moved = [("n4", "AI반도체 협업포럼 개최"), BASE[0], BASE[1]];
    *body.lock().unwrap() = rss_feed(&moved);
    let (_, out) = once(&config, &state).await;
    assert_eq!(sent_titles(&out), vec!["AI반도체 협업포럼 개최"]);

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let store = state.open();
    let preview = store.prune_seen(std::time::Duration::ZERO, true).unwrap();
    assert_eq!(
        preview.seen_total(),
        1,
        "only n1, which the feed no longer lists"
    );
    assert!(
        store.is_seen("f", "g:n1").unwrap(),
        "a dry run forgets nothing"
    );
    let pruned = store.prune_seen(std::time::Duration::ZERO, false).unwrap();
    assert_eq!((pruned.seen_total(), pruned.kept_listed), (1, 3));
    assert!(!store.is_seen("f", "g:n1").unwrap());
    for listed in ["g:n2", "g:n3", "g:n4"] {
        assert!(
            store.is_seen("f", listed).unwrap(),
            "{listed} is still listed"
        );
    }
    drop(store);

    // The same feed again: nothing is new, nothing is sent.
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, 0, "{out}");
    assert!(sent_titles(&out).is_empty(), "{out}");
}

/// A board page of (id, title) rows in the 산업통상부 layout, answering 304 to its own ETag.
fn board_page(rows: &[(&str, &str)]) -> Vec<u8> {
    let mut html = String::from(
        "<html><body><div class=\"board-tbl board-list\"><table id=\"mytable\"><tbody>\n",
    );
    for (id, title) in rows {
        html.push_str(&format!(
            "<tr><td>{id}</td><td class=\"ta-l\"><div class=\"board-link\"><a href=\"/kor/article/B/{id}/view?mno=&pageIndex=1\"><i>{title}</i></a></div></td><td>과</td><td>2026-11-25</td><td>3</td><td></td></tr>\n"
        ));
    }
    html.push_str("</tbody></table></div></body></html>\n");
    html.into_bytes()
}

fn mutable_page(server: &FeedServer, path: &str, initial: Vec<u8>) -> Arc<Mutex<Vec<u8>>> {
    let body = Arc::new(Mutex::new(initial));
    let shared = Arc::clone(&body);
    server.route(path, move |req| {
        let body = shared.lock().unwrap().clone();
        let etag = format!("\"{}\"", body.len());
        if req.header("if-none-match").as_deref() == Some(etag.as_str()) {
            return Reply::status(304);
        }
        Reply::ok("text/html; charset=utf-8", body).header("etag", &etag)
    });
    body
}

fn board_source(url: &str, title: &str) -> String {
    format!(
        "[[source]]\nid = \"board\"\nname = \"게시판\"\nministry = \"시험부\"\nkind = \"html_list\"\nurl = \"{url}\"\n\n[source.select]\nitem = \"table#mytable tbody tr\"\ntitle = \"{title}\"\n"
    )
}

/// A title selector that fits nothing is an error, not a baseline of nothing; the fixed
/// selector's first poll is the baseline (no old row goes out), and later rows arrive once.
#[tokio::test]
async fn a_broken_selector_is_no_baseline_and_its_fix_sends_no_old_rows() {
    let server = FeedServer::start().await;
    let old = [
        ("103", "AI반도체 실증 확대"),
        ("102", "NPU 팹리스 공고"),
        ("101", "반도체 생태계 펀드 결성"),
    ];
    let page = mutable_page(&server, "/board", board_page(&old));
    let state = StateDir::new();
    let broken = config_text(&board_source(&server.url("/board"), "td.subject a"));
    let (report, _) = once(&broken, &state).await;
    assert_eq!(
        report.ingest.failed_sources,
        vec!["board"],
        "no titles is a failure"
    );
    let store = state.open();
    let s = store.source_state("board").unwrap();
    assert!(!s.baselined && s.validators.etag.is_none(), "{s:?}");
    assert!(s.last_error.unwrap().contains("td.subject a"));
    drop(store);

    let fixed = config_text(&board_source(
        &server.url("/board"),
        "td.ta-l div.board-link a > i",
    ));
    let (report, out) = once(&fixed, &state).await;
    assert_eq!(report.ingest.new_items, 3);
    assert!(
        sent_titles(&out).is_empty(),
        "the fix's first poll is the baseline: {out}"
    );

    let mut rows = vec![("104", "AI반도체 협업포럼 개최")];
    rows.extend_from_slice(&old);
    *page.lock().unwrap() = board_page(&rows);
    let (_, out) = once(&fixed, &state).await;
    assert_eq!(sent_titles(&out), vec!["AI반도체 협업포럼 개최"]);
}

/// Changing how a working list is read (here: what identifies a row) forgets its validators —
/// the unchanged page is read again despite its ETag — and re-baselines: the rows, now under
/// new keys, are not sent as new.
#[tokio::test]
async fn new_parse_settings_reread_the_page_and_rebaseline() {
    let server = FeedServer::start().await;
    let rows = [("202", "AI반도체 실증 확대"), ("201", "NPU 팹리스 공고")];
    mutable_page(&server, "/board", board_page(&rows));
    let state = StateDir::new();
    let source = board_source(&server.url("/board"), "td.ta-l div.board-link a > i");
    once(&config_text(&source), &state).await;
    let (report, _) = once(&config_text(&source), &state).await;
    assert!(report.ingest.new_items == 0);
    let hits = server.hits("/board");

    let with_identity =
        format!("{source}\n[source.identity]\npattern = '/article/B/(\\d+)/view'\n");
    let (report, out) = once(&config_text(&with_identity), &state).await;
    assert_eq!(server.hits("/board"), hits + 1);
    let store = state.open();
    assert!(
        store.is_seen("board", "i:202").unwrap(),
        "read again under the new keys"
    );
    assert_eq!(report.ingest.new_items, 2);
    assert!(
        sent_titles(&out).is_empty(),
        "re-baselined, nothing sent: {out}"
    );
}

/// A release on an aggregator with `hold` (korea.kr) waits for the ministry's own copy: when the
/// ministry's feed brings it, that copy is sent and the aggregator's is dropped; a release the
/// ministry never brings goes out from the aggregator when the hold ends.
#[tokio::test]
async fn a_held_aggregator_copy_yields_to_the_ministry_feed() {
    let server = FeedServer::start().await;
    let feed = mutable_feed(&server, "/f.xml", rss_feed(&[("a", "국산 AI칩 실증 확대")]));
    let page = mutable_page(
        &server,
        "/board",
        board_page(&[("1", "[보도자료] 국산 AI칩 실증 확대")]),
    );
    let aggregator = format!(
        "[[source]]\nid = \"board\"\nname = \"모음\"\nministry = \"여러 부처\"\nkind = \"html_list\"\nurl = \"{}\"\nhold = \"1h\"\n\n[source.select]\nitem = \"table#mytable tbody tr\"\ntitle = \"td.ta-l div.board-link a > i\"\n",
        server.url("/board")
    );
    let config = config_text(&format!(
        "{}\n{aggregator}",
        feed_source("ministry", &server.url("/f.xml"), "")
    ));
    let state = StateDir::new();
    once(&config, &state).await;

    // X appears on the aggregator first: held, nothing sent.
    *page.lock().unwrap() = board_page(&[
        ("2", "[보도자료] AI반도체 협업포럼 개최"),
        ("1", "[보도자료] 국산 AI칩 실증 확대"),
    ]);
    let (_, out) = once(&config, &state).await;
    assert!(sent_titles(&out).is_empty(), "{out}");
    // Then on the ministry's feed: that copy is sent.
    *feed.lock().unwrap() = rss_feed(&[
        ("x", "AI반도체 협업포럼 개최"),
        ("a", "국산 AI칩 실증 확대"),
    ]);
    let (_, out) = once(&config, &state).await;
    assert_eq!(sent_titles(&out), vec!["AI반도체 협업포럼 개최"]);
    assert!(out.contains("f.example/x"), "the ministry's copy: {out}");
    let store = state.open();
    let later = chrono::Utc::now().timestamp() as u64 + 2 * 3600;
    let release = store.release_held(later).unwrap();
    assert_eq!((release.released, release.superseded), (0, 1));

    // Y only ever appears on the aggregator: it goes out when its hold ends.
    *page.lock().unwrap() = board_page(&[
        ("3", "NPU 팹리스 지원 공고"),
        ("2", "[보도자료] AI반도체 협업포럼 개최"),
    ]);
    drop(store);
    let (_, out) = once(&config, &state).await;
    assert!(sent_titles(&out).is_empty(), "held: {out}");
    let store = state.open();
    let release = store.release_held(later).unwrap();
    assert_eq!((release.released, release.queued), (1, 1));
    drop(store);
    let (_, out) = once(&config, &state).await;
    assert_eq!(sent_titles(&out), vec!["NPU 팹리스 지원 공고"]);
}

// ── Hostile feed content ──────────────────────────────────────────────────────────────

fn serve(server: &FeedServer, body: Vec<u8>) -> Arc<Mutex<Vec<u8>>> {
    server.mutable("/h.xml", "application/rss+xml", body)
}

fn raw_feed(items: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title><link>https://h.example/</link><description>d</description>{items}</channel></rss>").into_bytes()
}

#[tokio::test]
async fn ten_thousand_items_baseline_then_one_new() {
    let server = FeedServer::start().await;
    let body = serve(&server, numbered_feed(10_000));
    let config = format!(
        "[http]\nmax_body = \"20MiB\"\ntimeout = \"20s\"\n{}{TEST_TOPICS}",
        feed_source("h", &server.url("/h.xml"), "")
    );
    let state = StateDir::new();
    let (report, _) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, 10_000);
    assert_eq!(report.delivered, 0);
    let items: Vec<(String, String)> =
        std::iter::once(("new".to_owned(), "AI반도체 새 소식".to_owned()))
            .chain(
                (1..=10_000)
                    .rev()
                    .map(|i| (format!("n{i}"), numbered_title(i))),
            )
            .collect();
    *body.lock().unwrap() = rss_feed(&items);
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, 1);
    assert_eq!(sent_titles(&out), vec!["AI반도체 새 소식"]);
}

#[tokio::test]
async fn duplicate_guids_in_one_feed_are_one_item() {
    let server = FeedServer::start().await;
    let body = serve(&server, raw_feed(""));
    let config = config_text(&feed_source("h", &server.url("/h.xml"), ""));
    let state = StateDir::new();
    once(&config, &state).await;
    *body.lock().unwrap() = raw_feed(
        "<item><title>AI반도체 첫판</title><guid>same</guid></item><item><title>AI반도체 둘째판</title><guid>same</guid></item>",
    );
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, 1);
    assert_eq!(sent_titles(&out).len(), 1);
}

#[tokio::test]
async fn an_edited_title_or_a_re_added_item_is_not_sent_again() {
    let server = FeedServer::start().await;
    let body = serve(&server, raw_feed(""));
    let config = config_text(&feed_source("h", &server.url("/h.xml"), ""));
    let state = StateDir::new();
    once(&config, &state).await;
    let item = |title: &str| {
        format!(
            "<item><title>{title}</title><link>https://h.example/1</link><guid>g1</guid></item>"
        )
    };
    *body.lock().unwrap() = raw_feed(&item("AI반도체 지원 사업 공고"));
    let (_, out) = once(&config, &state).await;
    assert_eq!(sent_titles(&out), vec!["AI반도체 지원 사업 공고"]);
    // The ministry fixes a typo in the title: same guid, not a new notice.
    *body.lock().unwrap() = raw_feed(&item("AI반도체 지원사업 공고 (수정)"));
    let (report, out) = once(&config, &state).await;
    assert_eq!((report.ingest.new_items, sent_titles(&out).len()), (0, 0));
    // Deleted, then re-added.
    *body.lock().unwrap() = raw_feed("");
    once(&config, &state).await;
    *body.lock().unwrap() = raw_feed(&item("AI반도체 지원 사업 공고"));
    let (report, out) = once(&config, &state).await;
    assert_eq!((report.ingest.new_items, sent_titles(&out).len()), (0, 0));
}

#[tokio::test]
async fn huge_invisible_and_misdated_titles_are_tamed() {
    let server = FeedServer::start().await;
    let body = serve(&server, raw_feed(""));
    let config = config_text(&feed_source("h", &server.url("/h.xml"), ""));
    let state = StateDir::new();
    once(&config, &state).await;
    let huge = format!("AI반도체 {}", "가".repeat(100_000));
    let sneaky = "AI\u{200B}반도체 \u{202E}공고\u{0007} 끝";
    *body.lock().unwrap() = raw_feed(&format!(
        "<item><title>{huge}</title><guid>big</guid><pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate></item>\
         <item><title>{sneaky}</title><guid>sneaky</guid><pubDate>Thu, 01 Jan 1970 00:00:00 +0000</pubDate></item>"
    ));
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.delivered, 2);
    let titles = sent_titles(&out);
    assert!(
        titles
            .iter()
            .all(|t| t.chars().count() <= policy_watch::items::MAX_TITLE_CHARS),
        "capped"
    );
    // Zero-width, bidi overrides and control characters are gone; the keyword still matched.
    assert!(
        titles.contains(&"AI반도체 공고 끝".to_owned()),
        "{titles:?}"
    );
    assert!(
        out.contains("2100-01-01") && out.contains("1970-01-01"),
        "dates shown as given: {out}"
    );
}

// ── Copies of one release that route differently ──────────────────────────────────────

/// Two topics, so that copies of one release can route to different destinations; a keyword in
/// the lead weighs as much as in the title.
const TWO_TOPICS: &str = r##"
[[topic]]
id = "chips"
name = "AI반도체"
hashtag = "#AI반도체"
keywords = ["AI반도체", "NPU"]
summary_weight = 2.0

[[topic]]
id = "cloud"
name = "클라우드"
hashtag = "#클라우드"
keywords = ["클라우드"]
summary_weight = 2.0
"##;

/// An RSS feed of (guid, title, lead) items, newest first.
fn feed_with_leads(items: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>t</title><link>https://c.example/</link><description>d</description>\n",
    );
    for (guid, title, lead) in items {
        xml.push_str(&format!(
            "<item><title>{title}</title><link>https://c.example/{guid}</link><guid>{guid}</guid><description>{lead}</description><pubDate>Wed, 25 Nov 2026 01:00:00 GMT</pubDate></item>\n"
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml.into_bytes()
}

/// Two sources of copies (`first`, `second`, the second with `second_extra` such as a hold),
/// two channels: `-1001` for chips, `-1002` for cloud.
struct Copies {
    telegram: TelegramServer,
    first: Arc<Mutex<Vec<u8>>>,
    second: Arc<Mutex<Vec<u8>>>,
    config: String,
    state: StateDir,
    _feeds: FeedServer,
}

impl Copies {
    async fn new(first_extra: &str, second_extra: &str) -> Copies {
        let feeds = FeedServer::start().await;
        let old = feed_with_leads(&[("old", "지난 소식 모음", "")]);
        let first = mutable_feed(&feeds, "/first.xml", old.clone());
        let second = mutable_feed(&feeds, "/second.xml", old);
        let telegram = TelegramServer::start(None).await;
        let destinations = format!(
            "{}{}",
            destination("-1001", Some(&["chips"])),
            destination("-1002", Some(&["cloud"]))
        );
        let config = format!(
            "[http]\ntimeout = \"2s\"\n{}{}\n{}{TWO_TOPICS}",
            feed_source("first", &feeds.url("/first.xml"), first_extra),
            feed_source("second", &feeds.url("/second.xml"), second_extra),
            telegram_section(&telegram, Limits::REAL, &destinations),
        );
        let state = StateDir::new();
        once_telegram(&config, &state).await;
        Copies {
            telegram,
            first,
            second,
            config,
            state,
            _feeds: feeds,
        }
    }

    fn received(&self, chat: &str, title: &str) -> usize {
        self.telegram
            .sent_to(chat)
            .iter()
            .filter(|m| m.visible.contains(title))
            .count()
    }
}

/// The 산업통상부 board lists a release by its title alone, which names no topic; korea.kr's
/// copy, later, carries a lead that does. The release is sent once, from korea.kr's copy.
#[tokio::test]
async fn a_copy_with_a_matching_lead_is_sent_after_a_bare_title() {
    let copies = Copies::new("", "").await;
    let title = "차세대 연산 설비 확충 계획 발표";
    *copies.first.lock().unwrap() = feed_with_leads(&[("b1", title, "")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 0, "the bare title matches nothing");
    *copies.second.lock().unwrap() = feed_with_leads(&[(
        "k1",
        &format!("[보도자료] {title}"),
        "국산 AI반도체 실증을 넓힌다",
    )]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 1);
    assert_eq!(
        copies.received("-1001", title),
        1,
        "chips got korea.kr's copy"
    );
    assert_eq!(copies.received("-1002", title), 0);
    // A third sighting of the same copy sends nothing more.
    *copies.first.lock().unwrap() =
        feed_with_leads(&[("b2", title, "국산 AI반도체 실증을 넓힌다")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 0, "nobody twice");
}

/// korea.kr's copy (held, as the shipped config holds it) matches chips and cloud; the ministry's
/// own copy, which takes the release over, matches chips only. Chips gets the ministry's copy,
/// cloud korea.kr's — at once, not when the hold would have ended — and nobody gets two.
#[tokio::test]
async fn a_held_copy_still_reaches_those_the_ministry_copy_does_not() {
    let copies = Copies::new("", "hold = \"1h\"").await;
    let title = "AI반도체 실증 확대 방안";
    *copies.second.lock().unwrap() =
        feed_with_leads(&[("k1", title, "클라우드 기업과 함께 실증한다")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 0, "held");
    *copies.first.lock().unwrap() = feed_with_leads(&[("m1", title, "")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 2);
    let chips = copies.telegram.sent_to("-1001");
    assert_eq!(chips.len(), 1);
    assert!(
        chips[0].text.contains("c.example/m1"),
        "the ministry's copy: {}",
        chips[0].text
    );
    let cloud = copies.telegram.sent_to("-1002");
    assert_eq!(cloud.len(), 1);
    assert!(
        cloud[0].text.contains("c.example/k1"),
        "korea.kr's copy: {}",
        cloud[0].text
    );
    // The hold ends: the held record was superseded, nothing goes out again.
    let store = copies.state.open();
    let later = chrono::Utc::now().timestamp() as u64 + 2 * 3600;
    assert_eq!(store.release_held(later).unwrap().queued, 0);
}

/// korea.kr's copy (no hold here) matched chips and went out; the ministry's feed brings the
/// same release with a lead about cloud: cloud gets it, chips does not get it again.
#[tokio::test]
async fn a_later_copy_that_matches_more_topics_reaches_the_new_ones_only() {
    let copies = Copies::new("", "").await;
    let title = "NPU 데이터센터 시범 운영";
    *copies.second.lock().unwrap() = feed_with_leads(&[("k1", &format!("[보도참고] {title}"), "")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 1);
    *copies.first.lock().unwrap() =
        feed_with_leads(&[("m1", title, "공공 클라우드로 시범 운영한다")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 1);
    assert_eq!(copies.received("-1001", title), 1);
    assert_eq!(copies.received("-1002", title), 1);
}

/// A subscriber's watch word that only the later copy carries: the watcher gets that copy,
/// the topic's subscriber is not sent it again.
#[tokio::test]
async fn a_watch_word_only_a_later_copy_carries_reaches_its_watcher() {
    use policy_watch::records::Lang;
    use policy_watch::store::{ChatKind, Subscriber};
    let copies = Copies::new("", "").await;
    {
        let store = copies.state.open();
        let mut topical = Subscriber::new(501, ChatKind::Private, Lang::Ko);
        topical.topics.insert("chips".into());
        store
            .update_subscriber(501, |_| Some(topical.clone()))
            .unwrap();
        let mut watcher = Subscriber::new(502, ChatKind::Private, Lang::Ko);
        watcher.watch.insert("팹리스".into());
        store
            .update_subscriber(502, |_| Some(watcher.clone()))
            .unwrap();
    }
    let title = "AI반도체 기업 지원 사업 공고";
    *copies.first.lock().unwrap() = feed_with_leads(&[("m1", title, "")]);
    once_telegram(&copies.config, &copies.state).await;
    assert_eq!(copies.received("501", title), 1);
    assert_eq!(copies.received("502", title), 0, "no watch word yet");
    *copies.second.lock().unwrap() =
        feed_with_leads(&[("k1", title, "국내 팹리스 기업의 설계를 돕는다")]);
    let report = once_telegram(&copies.config, &copies.state).await;
    assert_eq!(report.delivered, 1, "only the watcher");
    assert_eq!(copies.received("502", title), 1);
    assert!(
        copies.telegram.sent_to("502")[0].visible.contains("팹리스"),
        "the copy names the watch word"
    );
    assert_eq!(copies.received("501", title), 1);
    assert_eq!(copies.received("-1001", title), 1);
}

/// A dry run's baseline preview shows a release once, though two sources list it (the
/// 산업통상부 board and its feed).
#[tokio::test]
async fn a_release_two_sources_list_is_previewed_once() {
    let server = FeedServer::start().await;
    server.bytes(
        "/board.xml",
        rss_feed(&[("b1", "[보도자료] AI반도체 실증 확대 방안")]),
        "application/rss+xml",
    );
    server.bytes(
        "/feed.xml",
        rss_feed(&[("f1", "AI반도체 실증 확대 방안")]),
        "application/rss+xml",
    );
    let config = config_text(
        &[
            feed_source("board", &server.url("/board.xml"), ""),
            feed_source("feed", &server.url("/feed.xml"), ""),
        ]
        .concat(),
    );
    let state = StateDir::new();
    let (_, out) = once(&config, &state).await;
    assert_eq!(previewed_titles(&out).len(), 1, "{out}");
}
