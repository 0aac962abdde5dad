//! Hostile feeds through the whole pipeline: very many items, duplicate guids, enormous and
//! invisible-character titles, an edited title, an item deleted and re-added, absurd dates.

mod support;

use std::sync::{Arc, Mutex};

use support::feeds::{FeedServer, Reply};
use support::*;

fn serve(server: &FeedServer, body: Vec<u8>) -> Arc<Mutex<Vec<u8>>> {
    let shared = Arc::new(Mutex::new(body));
    let feed = Arc::clone(&shared);
    server.route("/h.xml", move |_| {
        Reply::ok("application/rss+xml", feed.lock().unwrap().clone())
    });
    shared
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
