//! Reading sources right, over real loopback HTTP: every feed format and charset, the
//! ministries' quirks and pages, conditional requests, identity and paging. What goes wrong
//! (hostile servers and bodies, timeouts, caps) is in tests/it/faults.rs.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use policy_watch::config::Config;
use policy_watch::items::{Item, kst};
use policy_watch::sources::{self, Fetcher, ParseError, PollOutcome, SourceError, Validators};
use support::feeds::{FeedServer, Reply, fixture};
use support::*;

/// Polls the first source of `config_text` once.
async fn poll_first(
    config_text: &str,
    validators: &Validators,
) -> Result<PollOutcome, SourceError> {
    let config: Config = parse_config(config_text);
    let fetcher = Fetcher::new(&config.http).unwrap();
    let source = Arc::new(config.sources[0].clone());
    sources::poll(&fetcher, &source, validators, None).await
}

async fn items_of(config_text: &str) -> Vec<Item> {
    match poll_first(config_text, &Validators::default()).await {
        Ok(PollOutcome::Items { items, .. }) => items,
        Ok(other) => panic!("expected items, got {other:?}"),
        Err(e) => panic!("poll failed: {e}"),
    }
}

/// A KST wall time as the `published` of an item.
fn kst_at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Option<chrono::DateTime<Utc>> {
    Some(
        kst()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn feed_config(server: &FeedServer, path: &str, extra: &str) -> String {
    config_text(&feed_source("s", &server.url(path), extra))
}

#[tokio::test]
async fn rss2_items_are_normalised() {
    let server = FeedServer::start().await;
    server.file("/rss2.xml", "rss2.xml", "application/rss+xml");
    let items = items_of(&feed_config(&server, "/rss2.xml", "")).await;
    assert_eq!(items.len(), 3);
    let first = &items[0];
    assert_eq!(first.key, "g:rss2-103");
    assert!(first.title.starts_with("과기정통부, 국산 인공지능 반도체"));
    // Tracking parameter and fragment dropped, scheme/host normalised.
    assert_eq!(
        first.link.as_deref(),
        Some("https://example.go.kr/view?id=103")
    );
    // HTML stripped and entities decoded (the description was escaped HTML with &amp;amp;).
    assert_eq!(first.summary, "국산 NPU 기업과 수요기업이 한자리에 & 협력");
    assert_eq!(first.published, kst_at(2026, 11, 25, 14, 30));
}

#[tokio::test]
async fn atom_rss1_and_json_feed_parse() {
    let server = FeedServer::start().await;
    server.file("/atom.xml", "atom.xml", "application/atom+xml");
    server.file("/rss1.xml", "rss1.xml", "application/rdf+xml");
    server.file("/feed.json", "feed.json", "application/feed+json");

    let atom = items_of(&feed_config(&server, "/atom.xml", "")).await;
    assert_eq!(atom.len(), 2);
    assert_eq!(atom[0].key, "g:urn:fixture:atom:2");
    assert_eq!(
        atom[0].title,
        "국산 AI칩, 수요가 당기고 제조가 밀어준다 <속보>"
    );
    // Relative link resolved against the feed's URL.
    assert_eq!(
        atom[0].link.as_deref(),
        Some(server.url("/news/2").as_str())
    );

    let rss1 = items_of(&feed_config(&server, "/rss1.xml", "")).await;
    assert_eq!(rss1.len(), 2);
    assert!(rss1[0].title.contains("GPU"));
    assert_eq!(rss1[0].published, kst_at(2026, 11, 25, 10, 0));

    let json = items_of(&feed_config(&server, "/feed.json", "")).await;
    assert_eq!(json.len(), 2);
    assert_eq!(json[0].key, "g:json-2");
    assert_eq!(json[0].summary, "AI 기본법 하위법령 개정");
}

#[tokio::test]
async fn msit_shaped_feed_day_only_dates_and_huge_content() {
    let server = FeedServer::start().await;
    server.file("/rss.do", "msit.xml", "text/xml;charset=UTF-8");
    let items = items_of(&feed_config(&server, "/rss.do", "")).await;
    assert_eq!(items.len(), 3);
    for item in &items {
        // No guid: keyed by the normalised link, stable across polls.
        assert!(
            item.key
                .starts_with("l:https://www.msit.go.kr/bbs/view.do?"),
            "{}",
            item.key
        );
        assert!(item.summary.chars().count() <= policy_watch::items::MAX_SUMMARY_CHARS);
    }
    // "2026.11.25" is a KST day.
    assert_eq!(items[0].published, kst_at(2026, 11, 25, 0, 0));
    // Fullwidth brackets survive as published (normalisation is for matching only).
    assert!(items[0].title.contains("｢인공지능(AI) 데이터센터 특별법｣"));
}

#[tokio::test]
async fn post_only_feed_needs_post() {
    let server = FeedServer::start().await;
    let body = fixture("motir_rss.xml");
    server.route("/rss", move |req| {
        if req.method == "POST" {
            Reply::ok("application/xml", body.clone())
        } else {
            Reply::status(405)
        }
    });
    let err = poll_first(&feed_config(&server, "/rss", ""), &Validators::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("405") && text.contains("POST"), "{text}");

    let items = items_of(&feed_config(&server, "/rss", "method = \"POST\"")).await;
    assert_eq!(items.len(), 2);
    // "YYYY-MM-DD HH:MM:SS" without zone is KST.
    assert_eq!(items[0].published, kst_at(2026, 11, 25, 11, 0));
    let posts = server.requests("/rss");
    assert_eq!(posts.last().unwrap().method, "POST");
}

#[tokio::test]
async fn post_form_body_is_sent() {
    let server = FeedServer::start().await;
    let body = fixture("motir_rss.xml");
    server.route("/rss", move |req| {
        if req.method == "POST" && req.body == b"board=press&page=1" {
            Reply::ok("application/xml", body.clone())
        } else {
            Reply::status(400)
        }
    });
    let extra = "method = \"POST\"\nform = { board = \"press\", page = \"1\" }";
    assert_eq!(
        items_of(&feed_config(&server, "/rss", extra)).await.len(),
        2
    );
}

#[tokio::test]
async fn korea_kr_list_page_filtered_to_ministries() {
    let server = FeedServer::start().await;
    server.file(
        "/briefing/pressReleaseList.do",
        "korea_kr_list.html",
        "text/html; charset=UTF-8",
    );
    let source = format!(
        r#"[[source]]
id = "korea-kr"
name = "정책브리핑 보도자료"
ministry = "과학기술정보통신부·산업통상부"
kind = "html_list"
url = "{}"

[source.select]
item = "div.list_type ul li"
title = "span.text strong"
link = "a"
date = "span.source span:first-child"
summary = "span.text span.lead"

[source.filter]
selector = "span.source"
any_of = ["과학기술정보통신부", "산업통상부"]
"#,
        server.url("/briefing/pressReleaseList.do")
    );
    let items = items_of(&config_text(&source)).await;
    let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(
        !titles.iter().any(|t| t.contains("국토부")),
        "other ministries are filtered out"
    );
    assert_eq!(
        items[0].link.as_deref(),
        Some(
            server
                .url("/briefing/pressReleaseView.do?newsId=156700004&pWise=sub&pWiseSub=C3")
                .as_str()
        )
    );
    assert_eq!(
        items[0].summary,
        "온디바이스 AI 반도체와 로봇 지능을 결합한 선도 사업에 착수한다"
    );
    assert_eq!(items[0].published, kst_at(2026, 11, 25, 0, 0));
}

#[tokio::test]
async fn list_page_whose_layout_changed_is_an_error() {
    let server = FeedServer::start().await;
    server.file("/list", "error_page.html", "text/html");
    let source = format!(
        "[[source]]\nid = \"l\"\nname = \"L\"\nministry = \"M\"\nkind = \"html_list\"\nurl = \"{}\"\n[source.select]\nitem = \"div.list_type li\"\ntitle = \"strong\"\n",
        server.url("/list")
    );
    let err = poll_first(&config_text(&source), &Validators::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Parse(ParseError::NoRows(_))),
        "{err}"
    );
    assert!(err.to_string().contains("0 items"), "{err}");
}

fn euc_kr_feed(with_prolog: bool) -> Vec<u8> {
    let text = String::from_utf8(fixture("rss2.xml")).unwrap();
    let text = if with_prolog {
        text.replace("encoding=\"UTF-8\"", "encoding=\"EUC-KR\"")
    } else {
        text.replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "")
    };
    let (bytes, _, unmappable) = encoding_rs::EUC_KR.encode(&text);
    assert!(!unmappable);
    bytes.into_owned()
}

#[tokio::test]
async fn euc_kr_feeds_decode_by_prolog_or_http_charset() {
    let server = FeedServer::start().await;
    server.bytes("/prolog.xml", euc_kr_feed(true), "text/xml");
    server.bytes(
        "/header.xml",
        euc_kr_feed(false),
        "text/xml; charset=euc-kr",
    );
    for path in ["/prolog.xml", "/header.xml"] {
        let items = items_of(&feed_config(&server, path, "")).await;
        assert_eq!(items.len(), 3, "{path}");
        assert!(
            items[0]
                .title
                .starts_with("과기정통부, 국산 인공지능 반도체"),
            "{path}: {}",
            items[0].title
        );
    }
}

#[tokio::test]
async fn guidless_items_get_stable_keys() {
    let server = FeedServer::start().await;
    server.file("/g.xml", "guidless.xml", "application/rss+xml");
    let config = feed_config(&server, "/g.xml", "");
    let first = items_of(&config).await;
    let second = items_of(&config).await;
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|i| i.key.starts_with("h:")));
    assert_eq!(
        first.iter().map(|i| &i.key).collect::<Vec<_>>(),
        second.iter().map(|i| &i.key).collect::<Vec<_>>()
    );
    assert_ne!(first[0].key, first[1].key);
}

#[tokio::test]
async fn conditional_get_echoes_validators_and_honours_304() {
    let server = FeedServer::start().await;
    let body = fixture("rss2.xml");
    server.route("/c.xml", move |req| {
        if req.header("if-none-match").as_deref() == Some("W/\"v1\"") {
            Reply::status(304)
        } else {
            Reply::ok("application/rss+xml", body.clone())
                .header("etag", "W/\"v1\"")
                .header("last-modified", "Wed, 25 Nov 2026 05:30:00 GMT")
        }
    });
    let config = feed_config(&server, "/c.xml", "");
    let validators = match poll_first(&config, &Validators::default()).await.unwrap() {
        PollOutcome::Items { validators, .. } => validators,
        other => panic!("{other:?}"),
    };
    assert_eq!(validators.etag.as_deref(), Some("W/\"v1\""));
    let again = poll_first(&config, &validators).await.unwrap();
    assert!(
        matches!(again, PollOutcome::NotModified { .. }),
        "{again:?}"
    );
    let second = &server.requests("/c.xml")[1];
    assert_eq!(second.header("if-none-match").as_deref(), Some("W/\"v1\""));
    assert_eq!(
        second.header("if-modified-since").as_deref(),
        Some("Wed, 25 Nov 2026 05:30:00 GMT")
    );
}

#[tokio::test]
async fn gzip_responses_are_decompressed() {
    use std::io::Write;
    let server = FeedServer::start().await;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&fixture("rss2.xml")).unwrap();
    let gzipped = encoder.finish().unwrap();
    server.route("/gz.xml", move |req| {
        let accepts = req.header("accept-encoding").unwrap_or_default();
        assert!(
            accepts.contains("gzip") && accepts.contains("br"),
            "{accepts}"
        );
        Reply::ok("application/rss+xml", gzipped.clone()).header("content-encoding", "gzip")
    });
    let items = items_of(&feed_config(&server, "/gz.xml", "")).await;
    assert_eq!(items.len(), 3);
    // The request named the project.
    let ua = server.requests("/gz.xml")[0].header("user-agent").unwrap();
    assert!(ua.starts_with("policy-watch/"), "{ua}");
}

#[tokio::test]
async fn an_unchanged_body_is_not_parsed_again_even_without_validators() {
    let server = FeedServer::start().await;
    let body = Arc::new(std::sync::Mutex::new(fixture("rss2.xml")));
    let shared = Arc::clone(&body);
    // No ETag, no Last-Modified.
    server.route("/plain.xml", move |_| {
        Reply::ok("application/rss+xml", shared.lock().unwrap().clone())
    });
    let config = feed_config(&server, "/plain.xml", "");
    let first = match poll_first(&config, &Validators::default()).await.unwrap() {
        PollOutcome::Items { validators, .. } => validators,
        other => panic!("{other:?}"),
    };
    assert_eq!(first.etag, None);
    let hash = first.body_hash.clone().expect("a body hash");
    assert!(matches!(
        poll_first(&config, &first).await.unwrap(),
        PollOutcome::NotModified { .. }
    ));
    body.lock()
        .unwrap()
        .extend_from_slice(b"\n<!-- edited -->\n");
    match poll_first(&config, &first).await.unwrap() {
        PollOutcome::Items { validators, .. } => assert_ne!(validators.body_hash, Some(hash)),
        other => panic!("a changed body is parsed: {other:?}"),
    }

    // The same list page under a new row filter is parsed again.
    server.file(
        "/list.html",
        "korea_kr_list.html",
        "text/html; charset=utf-8",
    );
    let list = |any_of: &str| {
        config_text(&format!(
            "[[source]]\nid = \"l\"\nname = \"L\"\nministry = \"M\"\nkind = \"html_list\"\nurl = \"{}\"\n[source.select]\nitem = \"div.list_type ul li\"\ntitle = \"span.text strong\"\nlink = \"a\"\n[source.filter]\nselector = \"span.source\"\nany_of = [{any_of}]\n",
            server.url("/list.html")
        ))
    };
    let msit = list("\"과학기술정보통신부\"");
    let seen = match poll_first(&msit, &Validators::default()).await.unwrap() {
        PollOutcome::Items { validators, .. } => validators,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        poll_first(&msit, &seen).await.unwrap(),
        PollOutcome::NotModified { .. }
    ));
    let both = list("\"과학기술정보통신부\", \"산업통상부\"");
    assert!(matches!(
        poll_first(&both, &seen).await.unwrap(),
        PollOutcome::Items { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_host_are_capped() {
    let server = FeedServer::start().await;
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut sources = String::new();
    for n in 0..6 {
        let arrivals = Arc::clone(&arrivals);
        let body = rss_feed(&[(format!("{n}"), format!("소식 {n}"))]);
        server.route(&format!("/f{n}.xml"), move |_| {
            arrivals.lock().unwrap().push(Instant::now());
            Reply {
                delay: Duration::from_millis(300),
                ..Reply::ok("application/rss+xml", body.clone())
            }
        });
        sources.push_str(&feed_source(
            &format!("s{n}"),
            &server.url(&format!("/f{n}.xml")),
            "",
        ));
    }
    let text = format!("[http]\ntimeout = \"5s\"\nmax_per_host = 2\n\n{sources}\n{TEST_TOPICS}");
    let state = StateDir::new();
    let (report, _) = once(&text, &state).await;
    assert_eq!(report.ingest.failed_sources, Vec::<String>::new());
    let mut at = arrivals.lock().unwrap().clone();
    at.sort();
    assert_eq!(at.len(), 6);
    // With two requests at a time, the third can only start once the first has finished.
    for window in at.windows(3) {
        assert!(
            window[2] - window[0] >= Duration::from_millis(250),
            "three requests in flight at once: {:?}",
            window[2] - window[0]
        );
    }
}

/// Feeds from other readers' suites (tests/fixtures/readers/NOTICE.md) come out as feedparser
/// reads them: every entry, titles decoded right — RSS 0.90, a legacy prolog over UTF-8 bytes,
/// ISO-8859-1 bytes with no declaration at all.
#[test]
fn feeds_that_other_readers_read_come_out_whole() {
    // (file, entries feedparser finds, its first title)
    let cases = [
        (
            "feed-rs-rss091-iso-8859-1.xml",
            1,
            "bash - Expansão de Parâmetros",
        ),
        (
            "feed-rs-rss10-iso-8859-1.xml",
            1,
            "Digitalministerium: Neue Glasfaserförderung mit Schnellkasse",
        ),
        (
            "feed-rs-rss20-iso-8859-1.xml",
            1,
            "Revolução nas telas com pontos quânticos impressos em 3D",
        ),
        (
            "miniflux-golem-iso-8859-1.xml",
            40,
            "Red Dead Redemption 2: Hinweise auf PC-Umsetzung in App von Rockstar Games",
        ),
        (
            "miniflux-rss090-heise.xml",
            60,
            "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen",
        ),
        (
            "miniflux-undeclared-iso-8859-1.xml",
            10,
            "Perturbateurs endocriniens : quels effets sur le cerveau ?",
        ),
        ("miniflux-utf8-declared-iso-8859-1.xml", 1, "Café"),
    ];
    let base = url::Url::parse("https://example.org/feed").unwrap();
    let (mut expected, mut found) = (0, 0);
    let mut problems = Vec::new();
    for (file, entries, first) in cases {
        let bytes = fixture(&format!("readers/{file}"));
        expected += entries;
        match policy_watch::sources::parse_feed(&bytes, Some("application/xml"), &base) {
            Ok(items) => {
                found += items.len().min(entries);
                if items.len() != entries {
                    problems.push(format!("{file}: {} of {entries} entries", items.len()));
                }
                if items.first().map(|i| i.title.as_str()) != Some(first) {
                    problems.push(format!(
                        "{file}: first title {:?}",
                        items.first().map(|i| &i.title)
                    ));
                }
            }
            Err(e) => problems.push(format!("{file}: {e}")),
        }
    }
    println!("entries read: {found} of {expected} that feedparser finds");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The shipped config's `[[source]]` block with this id, pointed at `url`, without its `hold`
/// (tests look at what a source sends, not when).
fn shipped_source(id: &str, url: &str) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/policy-watch.toml"
    ))
    .unwrap();
    let start = text
        .find(&format!("[[source]]\nid = \"{id}\""))
        .unwrap_or_else(|| panic!("no source {id} in the shipped config"));
    let rest = &text[start..];
    let end = rest[1..]
        .find("\n[[source]]")
        .or_else(|| rest.find("\n# ──"))
        .map_or(rest.len(), |e| e + 1);
    let block = &rest[..end];
    let block = block
        .lines()
        .filter(|l| !l.starts_with("hold =") && !l.starts_with('#'))
        .map(|l| {
            if l.starts_with("url = ") {
                format!("url = \"{url}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("{block}\n")
}

/// korea.kr's list as the shipped source reads it. `day` moves the startDate/endDate that every
/// link carries (they follow the day of the request); `new_rows` are added at the top.
fn korea_kr_page(day: u32, new_rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let page = String::from_utf8(fixture("korea_kr_press_list.html")).unwrap();
    let mut page = page
        .replace(
            "startDate=2025-01-07",
            &format!("startDate=2025-01-{day:02}"),
        )
        .replace("endDate=2026-01-07", &format!("endDate=2026-01-{day:02}"));
    for (news_id, title, ministry) in new_rows {
        let row = format!(
            "      <li>\n        <a href=\"/briefing/pressReleaseView.do?newsId={news_id}&amp;pageIndex=1&amp;repCodeType=&amp;repCode=&amp;startDate=2025-01-{day:02}&amp;endDate=2026-01-{day:02}&amp;srchWord=&amp;period=\">\n          <span class=\"text\"><strong>{title}</strong><span class=\"lead\">리드</span><span class=\"source\"><span>2026.01.{day:02}</span><span>{ministry}</span></span></span>\n        </a>\n      </li>\n"
        );
        page = page.replacen("<ul>\n", &format!("<ul>\n{row}"), 1);
    }
    page.into_bytes()
}

/// A korea.kr list page lived day by day under the shipped identity (`newsId`). `page(day,
/// with_new)` is the list as requested on `day` (its links carry that day's dates), with or
/// without the new row `new` (newsId, title). Day one is a baseline of `baseline` releases; the
/// next day's links re-send nothing; the new row is sent once, with the release's own link; the
/// day after sends nothing.
async fn korea_kr_sends_once_across_days(
    page: impl Fn(u32, bool) -> Vec<u8>,
    config_for: impl Fn(&str) -> String,
    day: u32,
    baseline: usize,
    new: (&str, &str),
) {
    let server = FeedServer::start().await;
    let served = server.mutable("/list", "text/html; charset=UTF-8", page(day, false));
    let config = config_text(&config_for(&server.url("/list")));
    let state = StateDir::new();
    let (report, out) = once(&config, &state).await;
    assert_eq!(report.ingest.new_items, baseline, "the baseline: {out}");
    assert!(sent_titles(&out).is_empty(), "baseline: {out}");

    *served.lock().unwrap() = page(day + 1, false);
    let (report, out) = once(&config, &state).await;
    assert_eq!(
        report.ingest.new_items, 0,
        "the next day's links are the same releases: {out}"
    );

    *served.lock().unwrap() = page(day + 1, true);
    let (_, out) = once(&config, &state).await;
    assert_eq!(sent_titles(&out), vec![new.1]);
    assert!(
        out.contains(&format!("pressReleaseView.do?newsId={}", new.0))
            && !out.contains("startDate"),
        "the link shown is the release's, without the request's dates: {out}"
    );
    *served.lock().unwrap() = page(day + 2, true);
    let (report, out) = once(&config, &state).await;
    assert!(sent_titles(&out).is_empty(), "once: {out}");
    assert_eq!(report.ingest.new_items, 0, "{out}");
}

/// korea.kr's links carry the request's dates, which move every day (reconstructed page with
/// the two ministries' rows).
#[tokio::test]
async fn korea_kr_releases_are_sent_once_although_their_links_change_daily() {
    let new = ("156738791", "AI반도체 협업포럼 개최");
    korea_kr_sends_once_across_days(
        |day, with_new| {
            let row = [(new.0, new.1, "산업통상부")];
            korea_kr_page(day, if with_new { &row } else { &[] })
        },
        |url| shipped_source("korea-kr-press", url),
        7,
        3,
        new,
    )
    .await;
}

/// The shipped korea.kr source with its ministry filter replaced by `ministries` (the capture
/// below holds none of the two ministries' releases).
fn shipped_korea_kr_for(url: &str, ministries: &[&str]) -> String {
    let shipped = shipped_source("korea-kr-press", url);
    let start = shipped.find("any_of = [").unwrap();
    let end = start + shipped[start..].find('\n').unwrap();
    let list = ministries
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{}any_of = [{list}]{}", &shipped[..start], &shipped[end..])
}

/// A real korea.kr list (abridged capture of 2026-09-08, see tests/fixtures/README.md) with the
/// links' request dates moved to `day` of September and `new_rows` (newsId, title) added at the
/// top in the capture's own row markup.
fn korea_kr_capture(day: u32, new_rows: &[(&str, &str)]) -> Vec<u8> {
    let page = String::from_utf8(fixture("korea_kr_press_list_capture.html")).unwrap();
    let mut page = page
        .replace(
            "startDate=2026-09-01",
            &format!("startDate=2025-09-{day:02}"),
        )
        .replace("endDate=2026-09-08", &format!("endDate=2026-09-{day:02}"));
    let row_start = page.find("\t\t\t\t\t\t\t\t\t<li>").unwrap();
    let row_end = page.find("</li>\n").unwrap() + "</li>\n".len();
    let template = page[row_start..row_end].to_owned();
    for (news_id, title) in new_rows {
        let row = template
            .replacen("newsId=156780685", &format!("newsId={news_id}"), 1)
            .replace(
                "<strong>소나무 관리, 논의에서 정책으로… 산림청, 국회서 해법 모색</strong>",
                &format!("<strong>{title}</strong>"),
            )
            .replace("<span>산림청</span>", "<span>행정중심복합도시건설청</span>");
        page.insert_str(row_start, &row);
    }
    page.into_bytes()
}

/// The real page, read by the shipped selectors: every row gives a title, the release's own
/// link (newsId only), the day and the lead with its entities decoded; the ministry filter
/// keeps exactly the rows of the ministries named.
#[tokio::test]
async fn the_korea_kr_capture_is_read_row_by_row() {
    let server = FeedServer::start().await;
    server.bytes(
        "/briefing/pressReleaseList.do",
        korea_kr_capture(8, &[]),
        "text/html; charset=UTF-8",
    );
    let url = server.url("/briefing/pressReleaseList.do");
    let every = ["산림청", "국토교통부", "교육부", "행정중심복합도시건설청"];
    let items = items_of(&config_text(&shipped_korea_kr_for(&url, &every))).await;
    let ids: Vec<String> = items
        .iter()
        .map(|i| {
            let link = i.link.clone().unwrap_or_default();
            link.strip_prefix(&server.url("/briefing/pressReleaseView.do?newsId="))
                .unwrap_or_else(|| panic!("a release link without the request's query: {link}"))
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "156780685",
            "156780677",
            "156780676",
            "156780679",
            "156780678",
            "156780675",
            "156780674"
        ]
    );
    assert!(
        items
            .iter()
            .all(|i| i.published == kst_at(2026, 9, 8, 0, 0))
    );
    assert_eq!(items[3].title, "행복청, ｢2차 중앙행정기관 이전｣ 총력 지원");
    assert_eq!(
        items[3].summary.trim(),
        "행복청, ｢2차 중앙행정기관 이전｣ 총력 지원 관련 보도자료입니다.",
        "&nbsp; decoded and trimmed"
    );
    assert!(
        items[0]
            .summary
            .starts_with("소나무 관리, 논의에서 정책으로")
            && items[0].summary.contains("소나무재선충병"),
        "the lead is the release's text: {}",
        items[0].summary
    );

    let shipped = items_of(&config_text(&shipped_source("korea-kr-press", &url))).await;
    assert!(
        shipped.is_empty(),
        "no release of the two ministries on this page: {shipped:?}"
    );
    let one = items_of(&config_text(&shipped_korea_kr_for(&url, &["교육부"]))).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].title, "학교안전법 시행령 일부개정령안 국무회의 통과");
}

/// The same on the real page (its rows filtered to one ministry that has four).
#[tokio::test]
async fn the_korea_kr_capture_sends_a_release_once_across_days() {
    let new = ("156780699", "행복청, AI반도체 실증 거점 유치");
    korea_kr_sends_once_across_days(
        |day, with_new| {
            let row = [new];
            korea_kr_capture(day, if with_new { &row } else { &[] })
        },
        |url| shipped_korea_kr_for(url, &["행정중심복합도시건설청"]),
        8,
        4,
        new,
    )
    .await;
}

/// A store written before `[source.identity]` existed (keys from the whole link, no settings
/// fingerprint) re-sends nothing after the upgrade, even on a day whose links differ.
#[tokio::test]
async fn a_store_from_before_identity_re_sends_nothing() {
    let server = FeedServer::start().await;
    let page = server.mutable("/list", "text/html; charset=UTF-8", korea_kr_page(7, &[]));
    let shipped = shipped_source("korea-kr-press", &server.url("/list"));
    let old = shipped[..shipped.find("[source.identity]").unwrap()].to_owned();
    let state = StateDir::new();
    once(&config_text(&old), &state).await;
    {
        let store = state.open();
        let mut s = store.source_state("korea-kr-press").unwrap();
        s.settings = None; // as the previous version wrote it
        store.save_source_state("korea-kr-press", &s).unwrap();
    }
    *page.lock().unwrap() = korea_kr_page(8, &[]);
    let (report, out) = once(&config_text(&shipped), &state).await;
    assert_eq!(report.ingest.new_items, 3, "new keys (newsId only)");
    assert!(
        sent_titles(&out).is_empty(),
        "the same releases by title: {out}"
    );
}

/// The 산업통상부 board in its real layout, with both link forms (`javascript:article.view`
/// and a real href next to the same onclick): titles, clean view links, dates and keys.
#[tokio::test]
async fn the_motir_board_is_read_with_both_link_forms() {
    let server = FeedServer::start().await;
    server.file(
        "/kor/article/ATCL3f49a5a8c",
        "motir_board.html",
        "text/html; charset=UTF-8",
    );
    let items = items_of(&config_text(&shipped_source(
        "motir-press-board",
        &server.url("/kor/article/ATCL3f49a5a8c"),
    )))
    .await;
    let got: Vec<(String, String, String, String)> = items
        .iter()
        .map(|i| {
            (
                i.key.clone(),
                i.title.clone(),
                i.link.clone().unwrap_or_default(),
                i.published
                    .map(|d| d.with_timezone(&kst()).format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let base = server.url("/kor/article/ATCL3f49a5a8c");
    let expected = [
        (
            "172106",
            "AI반도체 협업포럼 개최…팹리스·파운드리 협력 강화",
            "2026-10-14",
        ),
        ("172105", "10월 1~10일 수출입 현황", "2026-10-13"),
        (
            "172070",
            "반도체특별법 시행령 제정안 입법예고",
            "2026-08-31",
        ),
        ("172069", "산업통상부 국장급 인사", "2026-08-31"),
    ]
    .map(|(id, title, date)| {
        (
            format!("i:{id}"),
            title.to_owned(),
            format!("{base}/{id}/view"),
            date.to_owned(),
        )
    });
    assert_eq!(got, expected);
}

/// More new rows than a page holds: further pages are read until a row already seen, so a
/// busy morning misses nothing; a quiet poll reads page 1 only.
#[tokio::test]
async fn a_burst_longer_than_a_page_is_read_across_pages() {
    let server = FeedServer::start().await;
    let state = StateDir::new();
    let page1 = server.mutable("/list", "text/html; charset=UTF-8", korea_kr_page(7, &[]));
    let config = config_text(&shipped_source("korea-kr-press", &server.url("/list")));
    once(&config, &state).await;
    assert_eq!(server.hits("/list"), 1, "the baseline reads page 1");
    let (_, _) = once(&config, &state).await;
    assert_eq!(server.hits("/list"), 2, "a quiet poll reads page 1 only");

    // Page 1 now holds only new rows; page 2 holds two more and then the old ones.
    let burst: Vec<(String, String)> = (0..6)
        .map(|i| (format!("1567388{i:02}"), format!("AI반도체 소식 {i}")))
        .collect();
    let first: Vec<(&str, &str, &str)> = burst[2..]
        .iter()
        .map(|(id, t)| (id.as_str(), t.as_str(), "과학기술정보통신부"))
        .collect();
    let page = String::from_utf8(korea_kr_page(8, &first)).unwrap();
    // Keep only the new rows on page 1 (cut the old ones off).
    let cut = page
        .find("newsId=156738790")
        .map(|i| page[..i].rfind("<li>").unwrap())
        .unwrap();
    let page_one = format!("{}</ul></div></div></div></body></html>", &page[..cut]);
    *page1.lock().unwrap() = page_one.into_bytes();
    let second: Vec<(&str, &str, &str)> = burst[..2]
        .iter()
        .map(|(id, t)| (id.as_str(), t.as_str(), "과학기술정보통신부"))
        .collect();
    server.bytes(
        "/list?pageIndex=2",
        korea_kr_page(8, &second),
        "text/html; charset=UTF-8",
    );
    let (_, out) = once(&config, &state).await;
    let mut sent = sent_titles(&out);
    sent.sort();
    let mut expected: Vec<String> = burst.iter().map(|(_, t)| t.clone()).collect();
    expected.sort();
    assert_eq!(sent, expected, "{out}");
    assert_eq!(
        server.hits("/list"),
        4,
        "page 1 and page 2, then stopped at a seen row"
    );
}

// ── The policy portal's press-release API ─────────────────────────────────────────────

/// A `briefing_api` source at `url`, its key in a file of `dir`, for two ministries.
fn briefing_source(url: &str, key_file: &std::path::Path) -> String {
    format!(
        "[[source]]\nid = \"portal-api\"\nname = \"정책브리핑 API\"\nministry = \"과학기술정보통신부·산업통상부\"\nkind = \"briefing_api\"\nurl = \"{url}\"\nservice_key_file = \"{}\"\nministries = [\"과학기술정보통신부\", \"산업통상부\"]\n",
        key_file.display()
    )
}

/// The API's answer (a reconstruction, see tests/fixtures/README.md) read as items: the two
/// ministries' releases, each identified by its NewsItemId, dated by ApproveDate (KST), linked to
/// its korea.kr page, summarised by its subtitles and body. The key is sent encoded once
/// whichever spelling the operator pasted, and the days asked for are yesterday and today.
#[tokio::test]
async fn the_portal_api_is_read_with_the_key_encoded_once() {
    let server = FeedServer::start().await;
    let answer = fixture("briefing_api_reconstructed.xml");
    let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&queries);
    server.route("/pressReleaseList", move |req| {
        seen.lock()
            .unwrap()
            .push(req.query.clone().unwrap_or_default());
        Reply::ok("application/xml;charset=UTF-8", answer.clone())
    });
    let dir = tempfile::tempdir().unwrap();
    for (n, key) in ["ab+c/d==", "ab%2Bc%2Fd%3D%3D"].iter().enumerate() {
        let key_file = dir.path().join(format!("key{n}"));
        std::fs::write(&key_file, format!("{key}\n")).unwrap();
        let config = parse_config(&config_text(&briefing_source(
            &server.url("/pressReleaseList"),
            &key_file,
        )));
        let fetcher = Fetcher::new(&config.http).unwrap();
        let source = Arc::new(config.sources[0].clone());
        let outcome = sources::poll(&fetcher, &source, &Validators::default(), None)
            .await
            .unwrap();
        let PollOutcome::Items { items, stats, .. } = outcome else {
            panic!("items expected")
        };
        assert_eq!((stats.rows, stats.filtered), (4, 1), "국토교통부 left out");
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "국산 AI반도체 실증 사업 착수",
                "반도체 소부장 기업 간담회 개최",
                "과기정통부 과장급 인사"
            ]
        );
        let first = &items[0];
        assert_eq!(first.key, "g:156700001");
        assert_eq!(
            first.link.as_deref(),
            Some("https://www.korea.kr/briefing/pressReleaseView.do?newsId=156700001")
        );
        assert_eq!(
            first.published,
            Some(
                kst()
                    .with_ymd_and_hms(2026, 3, 10, 12, 0, 0)
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
        assert!(
            first.summary.contains("국산 NPU 적용") && first.summary.contains("실증을 시작한다"),
            "{}",
            first.summary
        );
    }
    let queries = queries.lock().unwrap();
    assert_eq!(queries.len(), 2);
    for query in queries.iter() {
        assert!(
            query.starts_with("serviceKey=ab%2Bc%2Fd%3D%3D&startDate="),
            "encoded once: {query}"
        );
    }
    let today = Utc::now().with_timezone(&kst()).date_naive();
    assert!(queries[0].contains(&format!("endDate={}", today.format("%Y%m%d"))));
    assert!(queries[0].contains(&format!(
        "startDate={}",
        today.pred_opt().unwrap().format("%Y%m%d")
    )));
}

/// The gateway's refusals (here: a key not registered for the API, with HTTP 403) are errors
/// that name the fix, never an empty poll; the key never appears in them. Without a key the
/// source says where to put one.
#[tokio::test]
async fn the_portal_apis_refusals_name_their_fix_and_never_the_key() {
    let server = FeedServer::start().await;
    server.route("/pressReleaseList", |_| Reply {
        status: 403,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: b"<OpenAPI_ServiceResponse><cmmMsgHeader><errMsg>SERVICE ERROR</errMsg><returnAuthMsg>SERVICE_KEY_IS_NOT_REGISTERED_ERROR</returnAuthMsg><returnReasonCode>30</returnReasonCode></cmmMsgHeader></OpenAPI_ServiceResponse>".to_vec(),
        ..Reply::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let key = "secret-service-key-0123456789";
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, key).unwrap();
    let text = config_text(&briefing_source(
        &server.url("/pressReleaseList"),
        &key_file,
    ));
    let state = StateDir::new();
    let (report, _) = once(&text, &state).await;
    assert_eq!(report.ingest.failed_sources, vec!["portal-api".to_owned()]);
    let error = state
        .open()
        .source_state("portal-api")
        .unwrap()
        .last_error
        .unwrap();
    assert!(
        error.contains("error 30") && error.contains("apply for"),
        "{error}"
    );
    assert!(!error.contains(key));

    // No key anywhere: the error says where to put one.
    let text = text.replace(
        &format!("service_key_file = \"{}\"\n", key_file.display()),
        "",
    );
    let config = parse_config(&text);
    let fetcher = Fetcher::new(&config.http).unwrap();
    let source = Arc::new(config.sources[0].clone());
    if std::env::var_os(policy_watch::sources::BRIEFING_KEY_ENV).is_none() {
        let e = sources::poll(&fetcher, &source, &Validators::default(), None)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("POLICY_WATCH_SERVICE_KEY") && e.contains("service_key_file"),
            "{e}"
        );
    }
}

/// The API's copy of a release and the ministry's own are one release: sent once.
#[tokio::test]
async fn the_portal_apis_copy_and_the_ministrys_own_are_one_release() {
    let server = FeedServer::start().await;
    let api = server.mutable(
        "/pressReleaseList",
        "application/xml",
        b"<response><header><resultCode>00</resultCode><resultMsg>NORMAL SERVICE.</resultMsg></header><body></body></response>".to_vec(),
    );
    let feed = server.mutable(
        "/msit.xml",
        "application/rss+xml",
        rss_feed(&[("m0", "지난 소식")]),
    );
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "another-test-key-123456").unwrap();
    let text = config_text(&format!(
        "{}{}",
        feed_source("msit", &server.url("/msit.xml"), ""),
        briefing_source(&server.url("/pressReleaseList"), &key_file)
    ));
    let state = StateDir::new();
    once(&text, &state).await;
    *feed.lock().unwrap() =
        rss_feed(&[("m1", "국산 AI반도체 실증 사업 착수"), ("m0", "지난 소식")]);
    *api.lock().unwrap() = fixture("briefing_api_reconstructed.xml");
    let (report, out) = once(&text, &state).await;
    assert_eq!(
        sent_titles(&out)
            .iter()
            .filter(|t| t.contains("국산 AI반도체 실증 사업 착수"))
            .count(),
        1,
        "{out}"
    );
    assert!(report.ingest.new_items >= 2, "both sources saw it");
}
