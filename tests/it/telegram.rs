//! Telegram delivery end to end: feed on loopback → pipeline → teloxide → fake Bot API server.
//! Limits are scaled down (the real ones make a 60-message burst take 3 minutes; here 10/s per group); the server
//! enforces whatever limits the config declares, and counts any send made before a retry_after.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use policy_watch::records::Destination;
use support::feeds::{FeedServer, Reply};
use support::telegram::{ChatStatus, Fault, Limits, TelegramServer};
use support::*;

const FAST: Limits = Limits {
    global_per_second: 30,
    group_per_minute: 600,
    private_per_second: 10,
};

/// `n` numbered on-topic items (newest first, titles from `title`) plus a fixed old one.
fn numbered_feed(n: usize, title: impl Fn(usize) -> String) -> Vec<u8> {
    let mut items: Vec<(String, String)> =
        (1..=n).rev().map(|i| (format!("n{i}"), title(i))).collect();
    items.push(("n0".into(), "AI반도체 기존 소식".into()));
    rss_feed(&items)
}

struct Setup {
    feeds: FeedServer,
    telegram: TelegramServer,
    body: Arc<Mutex<Vec<u8>>>,
    state: StateDir,
}

impl Setup {
    async fn new(limits: Limits) -> Setup {
        let feeds = FeedServer::start().await;
        let body = Arc::new(Mutex::new(numbered_feed(0, |_| String::new())));
        let shared = Arc::clone(&body);
        feeds.route("/f.xml", move |_| {
            Reply::ok("application/rss+xml", shared.lock().unwrap().clone())
        });
        Setup {
            feeds,
            telegram: TelegramServer::start(Some(limits)).await,
            body,
            state: StateDir::new(),
        }
    }

    fn config(&self, limits: Limits, destinations: &str) -> String {
        format!(
            "{}{}",
            config_text(&feed_source("f", &self.feeds.url("/f.xml"), "")),
            telegram_section(&self.telegram, limits, destinations)
        )
    }

    /// Baseline, then publish `n` new items.
    async fn publish(&self, config: &str, n: usize, title: impl Fn(usize) -> String) {
        let report = once_telegram(config, &self.state).await;
        assert_eq!(report.delivered, 0, "baseline sends nothing");
        *self.body.lock().unwrap() = numbered_feed(n, title);
    }
}

fn title(i: usize) -> String {
    numbered_title(i)
}

fn received(server: &TelegramServer, chat: &str) -> Vec<usize> {
    received_numbers(server, chat)
}

#[tokio::test]
async fn a_burst_of_60_arrives_complete_in_order_within_the_limits() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 60, title).await;
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, 60);
    assert_eq!(
        received(&setup.telegram, "-1001"),
        (1..=60).collect::<Vec<_>>()
    );
    assert_eq!(
        setup.telegram.too_many(),
        0,
        "paced under the limits: no 429 at all"
    );
    assert!(setup.telegram.violations().is_empty());
    // HTML parse mode, the title bold and linked.
    let first = &setup.telegram.sent_to("-1001")[0];
    assert!(first.html);
    assert!(
        first
            .text
            .starts_with("<b><a href=\"https://f.example/n1\">AI반도체 소식 001</a></b>\n"),
        "{}",
        first.text
    );
    assert_eq!(report.pending, 0);
    assert_eq!(setup.state.open().outbox_len(), 0);
}

#[tokio::test]
async fn a_429_storm_loses_nothing_and_respects_retry_after() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 10, title).await;
    setup.telegram.fail(
        "-1001",
        [
            Fault::TooManyRequests(1),
            Fault::TooManyRequests(1),
            Fault::TooManyRequests(2),
        ],
    );
    let started = std::time::Instant::now();
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, 10);
    assert_eq!(
        received(&setup.telegram, "-1001"),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(setup.telegram.too_many(), 3);
    assert!(
        setup.telegram.violations().is_empty(),
        "{:?}",
        setup.telegram.violations()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "waited out 1 + 1 + 2 seconds"
    );
}

#[tokio::test]
async fn an_outage_then_recovery_delivers_everything_in_order() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 8, title).await;
    // Connections dropped without an answer (backoff 1 s, 2 s, 4 s), then service again.
    setup
        .telegram
        .fail("*", [Fault::Drop, Fault::Drop, Fault::Drop]);
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, 8);
    assert_eq!(
        received(&setup.telegram, "-1001"),
        (1..=8).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_bad_gateway_is_retried() {
    // teloxide waits 10 s after any 5xx before returning the error: one 502 only.
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 2, title).await;
    setup.telegram.fail("-1001", [Fault::ServerError(502)]);
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, 2);
    assert_eq!(received(&setup.telegram, "-1001"), vec![1, 2]);
}

#[tokio::test]
async fn a_refusing_destination_is_deactivated_and_the_others_carry_on() {
    let setup = Setup::new(FAST).await;
    let destinations = [
        destination("-1001", None),
        destination("-1002", None),
        destination("@gone_channel", None),
    ]
    .concat();
    let config = setup.config(FAST, &destinations);
    setup.telegram.set_chat("-1002", ChatStatus::NotMember);
    setup
        .telegram
        .set_chat("@gone_channel", ChatStatus::NotFound);
    setup.publish(&config, 5, title).await;
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(
        received(&setup.telegram, "-1001"),
        (1..=5).collect::<Vec<_>>()
    );
    assert!(received(&setup.telegram, "-1002").is_empty());
    // One attempt each, then deactivated: no hammering.
    let attempts = |chat: &str| {
        setup
            .telegram
            .requests()
            .iter()
            .filter(|(m, b)| {
                m == "SendMessage" && b["chat_id"].to_string().trim_matches('"') == chat
            })
            .count()
    };
    assert_eq!(attempts("-1002"), 1);
    assert_eq!(attempts("@gone_channel"), 1);
    // The admin (777) was told about both.
    let alerts = setup.telegram.sent_to("777");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().any(|a| a.visible.contains("tg:-1002")
        && a.visible.contains("not a member")
        && a.visible.contains("administrator allowed to post")));
    // A chat that does not exist is a config mistake, not a rights problem.
    assert!(
        alerts.iter().any(|a| a.visible.contains("tg:@gone_channel")
            && a.visible.contains("check the chat id or @name")),
        "{alerts:?}"
    );
    // Nothing lost: the refused destinations' notices stay in the outbox.
    assert_eq!(report.pending, 10);
    let store = setup.state.open();
    let state = policy_watch::deliver::destination_state(
        &store,
        &Destination::Telegram {
            chat: "-1002".into(),
        },
    )
    .unwrap();
    assert!(state.inactive_since.is_some());
    assert!(state.reason.unwrap().contains("Forbidden"));
}

/// A group that restricts the bot ("not enough rights to send text messages"): the notices are
/// not refused for what they say, so none goes to the dead letters; the group is parked with one
/// alert naming the fix, and after the fix and a restart every notice arrives, in order.
#[tokio::test]
async fn a_group_that_restricts_the_bot_is_parked_and_served_after_the_fix() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(
        FAST,
        &[destination("-1001", None), destination("-2002", None)].concat(),
    );
    setup.telegram.set_chat("-2002", ChatStatus::Restricted);
    setup.publish(&config, 4, title).await;
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(received(&setup.telegram, "-1001"), vec![1, 2, 3, 4]);
    assert!(received(&setup.telegram, "-2002").is_empty());
    assert_eq!(report.pending, 4, "kept in the outbox");
    let alerts = setup.telegram.sent_to("777");
    assert_eq!(alerts.len(), 1, "one alert, not one per notice: {alerts:?}");
    assert!(
        alerts[0].visible.contains("lift the bot's restriction"),
        "{}",
        alerts[0].visible
    );
    {
        let store = setup.state.open();
        assert!(
            store.dead_letters().unwrap().is_empty(),
            "nothing dead-lettered"
        );
    }
    // The group's admins lift the restriction; the operator restarts.
    setup.telegram.set_chat("-2002", ChatStatus::Ok);
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(received(&setup.telegram, "-2002"), vec![1, 2, 3, 4]);
    assert_eq!(report.pending, 0);
    assert_eq!(
        received(&setup.telegram, "-1001"),
        vec![1, 2, 3, 4],
        "nothing twice"
    );
}

/// A destination removed from the config does not keep its notices in the outbox forever:
/// at the next start they move to the dead letters, with a log line and an admin alert.
#[tokio::test]
async fn notices_for_a_removed_destination_are_set_aside_at_the_next_start() {
    let setup = Setup::new(FAST).await;
    let both = [
        destination("-1001", None),
        destination("@typo_channel", None),
    ]
    .concat();
    setup
        .telegram
        .set_chat("@typo_channel", ChatStatus::NotFound);
    let config = setup.config(FAST, &both);
    setup.publish(&config, 2, title).await;
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.pending, 2, "parked for the refused channel");

    // The operator removes the mistyped channel and restarts.
    let fixed = setup.config(FAST, &destination("-1001", None));
    let report = once_telegram(&fixed, &setup.state).await;
    assert_eq!(
        report.pending, 0,
        "nothing waits for a destination that is gone"
    );
    let store = setup.state.open();
    let dead = store.dead_letters().unwrap();
    assert_eq!(dead.len(), 2);
    assert!(
        dead.iter()
            .all(|d| d.reason.contains("no longer a destination"))
    );
    let alerts = setup.telegram.sent_to("777");
    assert!(
        alerts.iter().any(|a| a
            .visible
            .contains("2 queued notice(s) for tg:@typo_channel")),
        "{alerts:?}"
    );
    assert_eq!(received(&setup.telegram, "-1001"), vec![1, 2]);
}

#[tokio::test]
async fn a_migrated_group_is_followed() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-42", None));
    setup
        .telegram
        .set_chat("-42", ChatStatus::MigratedTo(-10042));
    setup.publish(&config, 3, title).await;
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, 3);
    assert_eq!(received(&setup.telegram, "-10042"), vec![1, 2, 3]);
    // Remembered: the next notices go straight to the supergroup.
    *setup.body.lock().unwrap() = numbered_feed(4, title);
    once_telegram(&config, &setup.state).await;
    assert_eq!(received(&setup.telegram, "-10042"), vec![1, 2, 3, 4]);
    let to_old = setup
        .telegram
        .requests()
        .iter()
        .filter(|(_, b)| b["chat_id"] == -42)
        .count();
    assert_eq!(to_old, 1, "only the first attempt went to the old group");
}

#[tokio::test]
async fn topic_filters_route_notices() {
    let setup = Setup::new(FAST).await;
    let destinations = [
        destination("-1001", None),
        destination("-1003", Some(&["chips"])),
    ]
    .concat();
    let extra_topic = "\n[[topic]]\nid = \"infra\"\nname = \"인프라\"\nhashtag = \"#인프라\"\nkeywords = [\"슈퍼컴퓨터\"]\n";
    let config = format!("{}{extra_topic}", setup.config(FAST, &destinations));
    setup.publish(&config, 0, title).await;
    *setup.body.lock().unwrap() = numbered_feed(2, |i| {
        if i == 1 {
            "슈퍼컴퓨터 6호기 착공".into()
        } else {
            "AI반도체 소식 002".into()
        }
    });
    once_telegram(&config, &setup.state).await;
    assert_eq!(setup.telegram.sent_to("-1001").len(), 2);
    let filtered = setup.telegram.sent_to("-1003");
    assert_eq!(filtered.len(), 1);
    assert!(filtered[0].visible.contains("AI반도체 소식 002"));
}

#[tokio::test]
async fn refused_html_is_resent_once_as_plain_text() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 1, title).await;
    setup.telegram.fail("-1001", [Fault::BadMarkup]);
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, 1);
    let sent = setup.telegram.sent_to("-1001");
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].html, "the resend is plain text");
    assert!(sent[0].text.contains("AI반도체 소식 001"));
}

#[tokio::test]
async fn a_message_refused_for_good_is_kept_as_a_dead_letter() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 2, title).await;
    setup.telegram.fail("-1001", [Fault::TooLong]);
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(
        received(&setup.telegram, "-1001"),
        vec![2],
        "the next one still goes"
    );
    assert_eq!(report.pending, 0);
    let dead = setup.state.open().dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.contains("too long"));
    assert_eq!(setup.telegram.sent_to("777").len(), 1, "the admin is told");
}

#[tokio::test]
async fn hostile_titles_and_summaries_make_valid_html() {
    let setup = Setup::new(FAST).await;
    let config = setup.config(FAST, &destination("-1001", None));
    setup.publish(&config, 0, title).await;
    let hostile = [
        "<script>alert(1)</script> AI반도체",
        "a & b &amp; c AI반도체",
        "</b></a> AI반도체 <b>",
        "AI반도체 😀🚀 emoji 𝐀𝐈",
        "\u{202E}AI반도체 RTL עברית العربية",
        "AI반도체 \"quotes\" 'single' &apos; &#39;",
    ];
    let long_summary = "가".repeat(5000);
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title><link>https://f.example/</link><description>d</description>",
    );
    for (i, t) in hostile.iter().enumerate() {
        xml.push_str(&format!(
            "<item><title><![CDATA[{t}]]></title><link>https://f.example/x?a=1&amp;b=\"{i}\"</link><guid>h{i}</guid><description><![CDATA[{long_summary}<b>bold</b> & more]]></description></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    *setup.body.lock().unwrap() = xml.into_bytes();
    let report = once_telegram(&config, &setup.state).await;
    assert_eq!(report.delivered, hostile.len());
    let sent = setup.telegram.sent_to("-1001");
    assert_eq!(sent.len(), hostile.len());
    assert!(
        sent.iter().all(|s| s.html),
        "all accepted as HTML (none needed the plain-text fallback)"
    );
    for s in &sent {
        assert!(!s.text.contains("&apos;"), "{}", s.text);
        assert!(s.visible.encode_utf16().count() <= 4096);
    }
    assert!(
        sent.iter()
            .any(|s| s.visible.contains("<script>alert(1)</script>")),
        "shown literally, not as markup"
    );
    assert!(sent.iter().any(|s| s.visible.contains("a & b & c")));
}

#[tokio::test]
async fn the_admins_hear_once_when_a_source_keeps_failing_and_once_when_it_recovers() {
    let feeds = FeedServer::start().await;
    let up = Arc::new(Mutex::new(false));
    let shared = Arc::clone(&up);
    feeds.route("/flaky.xml", move |_| {
        if *shared.lock().unwrap() {
            Reply::ok("application/rss+xml", numbered_feed(1, title))
        } else {
            Reply::status(503)
        }
    });
    let telegram = TelegramServer::start(Some(FAST)).await;
    let config = format!(
        "{}{}",
        config_text(&feed_source(
            "flaky",
            &feeds.url("/flaky.xml"),
            "alert_after = \"1s\""
        )),
        telegram_section(&telegram, FAST, &destination("-1001", None))
    );
    let state = StateDir::new();
    once_telegram(&config, &state).await;
    assert!(
        telegram.sent_to("777").is_empty(),
        "not yet: failing for less than alert_after"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    once_telegram(&config, &state).await;
    once_telegram(&config, &state).await;
    let alerts = telegram.sent_to("777");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0]
            .visible
            .contains("flaky 보도자료 (flaky) has failed since"),
        "{}",
        alerts[0].visible
    );
    assert!(alerts[0].visible.contains("HTTP 503"));
    *up.lock().unwrap() = true;
    once_telegram(&config, &state).await;
    let alerts = telegram.sent_to("777");
    assert_eq!(alerts.len(), 2);
    assert!(alerts[1].visible.contains("works again"));
}

/// A notice of a release whose link is a view page that lists its files carries them:
/// "📎 NAME.pdf · NAME.hwpx", each linked; the page is asked once for every destination's copy.
/// A page that fails, or answers after the bound, only leaves the line out: the notice goes.
#[tokio::test]
async fn a_notice_links_the_releases_files_from_its_view_page() {
    let feeds = FeedServer::start().await;
    let view = |id: &str| format!("/briefing/pressReleaseView.do?newsId={id}");
    let items = |ids: &[&str]| {
        let items: Vec<_> = ids
            .iter()
            .map(|id| (*id, feeds.url(&view(id)), format!("AI반도체 소식 {id}")))
            .collect();
        rss_feed_linked(&items)
    };
    let body = feeds.mutable("/f.xml", "application/rss+xml", items(&["000"]));
    let page = support::feeds::fixture("korea_kr_press_view_reconstructed.html");
    feeds.route("/briefing/pressReleaseView.do", move |_| {
        Reply::ok("text/html; charset=utf-8", page.clone())
    });
    let telegram = TelegramServer::start(Some(FAST)).await;
    let config = format!(
        "{}{}",
        config_text(&feed_source("f", &feeds.url("/f.xml"), "")),
        telegram_section(
            &telegram,
            FAST,
            &[destination("-1001", None), destination("-1002", None)].concat()
        )
    );
    let state = StateDir::new();
    once_telegram(&config, &state).await;
    *body.lock().unwrap() = items(&["001", "000"]);
    let report = once_telegram(&config, &state).await;
    assert_eq!(report.delivered, 2);
    for chat in ["-1001", "-1002"] {
        let sent = &telegram.sent_to(chat)[0];
        assert!(
            sent.visible.contains("📎 260310 국산 AI반도체 실증 사업 착수(보도자료).pdf · 260310 국산 AI반도체 실증 사업 착수(보도자료).hwpx"),
            "{}",
            sent.visible
        );
        assert!(
            sent.text.contains(&format!(
                "<a href=\"{}\">260310 국산 AI반도체 실증 사업 착수(보도자료).pdf</a>",
                feeds.url("/common/download.do?fileId=197112345&amp;tblKey=GMN")
            )),
            "{}",
            sent.text
        );
    }
    assert_eq!(
        feeds.requests("/briefing/pressReleaseView.do").len(),
        1,
        "one lookup for both copies"
    );

    // The page fails, then answers too late: the notices go without the line.
    feeds.route("/briefing/pressReleaseView.do", |req| {
        if req.query.as_deref() == Some("newsId=002") {
            Reply::status(500)
        } else {
            Reply {
                delay: Duration::from_secs(8),
                ..Reply::ok("text/html", "<html></html>")
            }
        }
    });
    *body.lock().unwrap() = items(&["003", "002", "001", "000"]);
    let started = std::time::Instant::now();
    let report = once_telegram(&config, &state).await;
    assert_eq!(report.delivered, 4);
    let late = telegram.sent_to("-1001");
    assert!(
        late[1..].iter().all(|m| !m.visible.contains("📎")),
        "{late:#?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the wait"
    );
}

/// MSIT's own copy of a release (its site has no download links) that takes over korea.kr's held
/// copy carries the files korea.kr's view page lists.
#[tokio::test]
async fn a_ministry_copy_that_takes_over_a_held_one_carries_its_files() {
    let feeds = FeedServer::start().await;
    let page = support::feeds::fixture("korea_kr_press_view_reconstructed.html");
    feeds.route("/briefing/pressReleaseView.do", move |_| {
        Reply::ok("text/html; charset=utf-8", page.clone())
    });
    let rss = |items: &[(&str, &str)]| {
        let items: Vec<_> = items
            .iter()
            .map(|(link, title)| (link, link, title))
            .collect();
        rss_feed_linked(&items)
    };
    let old = ("https://f.example/old", "AI반도체 지난 소식");
    let portal = feeds.mutable("/portal.xml", "application/rss+xml", rss(&[old]));
    let ministry = feeds.mutable("/ministry.xml", "application/rss+xml", rss(&[old]));
    let telegram = TelegramServer::start(Some(FAST)).await;
    let config = format!(
        "{}{}{}",
        config_text(&feed_source("ministry", &feeds.url("/ministry.xml"), "")),
        feed_source("portal", &feeds.url("/portal.xml"), "hold = \"1h\""),
        telegram_section(&telegram, FAST, &destination("-1001", None))
    );
    let state = StateDir::new();
    once_telegram(&config, &state).await;
    let title = "[보도자료] 국산 AI반도체 실증 사업 착수";
    let view = feeds.url("/briefing/pressReleaseView.do?newsId=156700001");
    *portal.lock().unwrap() = rss(&[(view.as_str(), title), old]);
    let report = once_telegram(&config, &state).await;
    assert_eq!(report.delivered, 0, "held");
    *ministry.lock().unwrap() = rss(&[
        ("https://f.example/m1", "국산 AI반도체 실증 사업 착수"),
        old,
    ]);
    let report = once_telegram(&config, &state).await;
    assert_eq!(report.delivered, 1);
    let sent = &telegram.sent_to("-1001")[0];
    assert!(
        sent.text.contains("https://f.example/m1"),
        "the ministry's copy: {}",
        sent.text
    );
    assert!(
        sent.visible
            .contains("📎 260310 국산 AI반도체 실증 사업 착수(보도자료).pdf"),
        "{}",
        sent.visible
    );
}
