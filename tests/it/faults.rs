//! Failing right: what the real world sends when it goes wrong — server errors with
//! Retry-After, slow and trickling servers, oversized and malformed bodies, gzip bombs, entity
//! tricks, redirect loops, resets (retried within the poll), proxies — each a clear error naming
//! the source and the cause, the other sources unaffected, recovery when the source recovers;
//! and hostile state directories. Reading sources right is in tests/it/sources.rs; hostile feed
//! *content* (duplicates, edits) in tests/it/exactly_once.rs.

use crate::support;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use policy_watch::sources::{
    self, FetchError, Fetcher, ParseError, PollOutcome, SourceError, Validators,
};
use support::feeds::{FeedServer, Reply};
use support::process::BIN;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn poll(config_text: &str) -> Result<PollOutcome, SourceError> {
    let config = parse_config(config_text);
    let fetcher = Fetcher::new(&config.http).unwrap();
    let source = Arc::new(config.sources[0].clone());
    sources::poll(&fetcher, &source, &Validators::default(), None).await
}

fn one_feed(server_url: &str) -> String {
    config_text(&feed_source("s", server_url, ""))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><link>https://f.example/</link><description>d</description>
<item><title>AI반도체 &lol9;</title><link>https://f.example/1</link><guid>1</guid><description>&lol9;</description></item>
</channel></rss>"#;

fn external_entity(url: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "{url}"> <!ENTITY % remote SYSTEM "{url}"> %remote; ]>
<rss version="2.0"><channel><title>t</title><link>https://f.example/</link><description>d</description>
<item><title>AI반도체 &xxe;</title><link>https://f.example/1</link><guid>1</guid></item>
</channel></rss>"#
    )
}

#[tokio::test]
async fn entities_are_never_expanded_nor_fetched() {
    let server = FeedServer::start().await;
    server.bytes(
        "/laughs.xml",
        BILLION_LAUGHS.as_bytes().to_vec(),
        "application/rss+xml",
    );
    server.bytes(
        "/xxe.xml",
        external_entity(&server.url("/secret")).into_bytes(),
        "application/rss+xml",
    );
    server.bytes("/secret", b"TOP-SECRET".to_vec(), "text/plain");
    for path in ["/laughs.xml", "/xxe.xml"] {
        match poll(&one_feed(&server.url(path))).await {
            Ok(PollOutcome::Items { items, .. }) => {
                for item in &items {
                    assert!(!item.title.contains("lollol"), "{path}: expanded: {item:?}");
                    assert!(!item.summary.contains("lollol"), "{path}: expanded");
                    assert!(!item.title.contains("TOP-SECRET"), "{path}: fetched");
                    assert!(item.title.chars().count() <= 500);
                }
            }
            Ok(other) => panic!("{path}: {other:?}"),
            Err(e) => assert!(e.to_string().contains("feed"), "{path}: {e}"),
        }
    }
    assert!(
        server.requests("/secret").is_empty(),
        "an external entity was fetched"
    );
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_cap_while_decompressing() {
    let server = FeedServer::start().await;
    // 64 MiB of spaces: 64 KiB on the wire.
    let bomb = gzip(&vec![b' '; 64 * 1024 * 1024]);
    assert!(bomb.len() < 200 * 1024);
    server.route("/bomb.xml", move |_| {
        Reply::ok("application/rss+xml", bomb.clone()).header("content-encoding", "gzip")
    });
    let err = poll(&one_feed(&server.url("/bomb.xml"))).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Fetch(FetchError::TooLarge { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn redirect_loops_and_non_http_redirects_are_refused() {
    let server = FeedServer::start().await;
    let here = server.url("/loop");
    server.route("/loop", move |_| {
        Reply::status(302).header("location", &here)
    });
    server.route("/file", |_| {
        Reply::status(301).header("location", "file:///etc/passwd")
    });
    server.route("/gopher", |_| {
        Reply::status(302).header("location", "gopher://127.0.0.1:70/feed")
    });
    let err = poll(&one_feed(&server.url("/loop"))).await.unwrap_err();
    assert!(err.to_string().contains("redirect"), "{err}");
    let hits = server.requests("/loop").len();
    assert!(hits <= 6, "followed at most max_redirects: {hits}");
    for path in ["/file", "/gopher"] {
        let err = poll(&one_feed(&server.url(path))).await.unwrap_err();
        assert!(
            matches!(err, SourceError::Fetch(_)),
            "{path}: refused, not read: {err}"
        );
    }
}

#[tokio::test]
async fn bad_bytes_and_lying_charsets_never_panic_and_never_leak_garbage() {
    let server = FeedServer::start().await;
    let mut invalid = rss_feed(&[("1", "AI반도체 XX 지원")]);
    let at = invalid.windows(2).position(|w| w == b"XX").unwrap();
    invalid[at] = 0xff; // not UTF-8
    invalid[at + 1] = 0xfe;
    server.bytes(
        "/invalid.xml",
        invalid,
        "application/rss+xml; charset=utf-8",
    );
    // Declared EUC-KR, actually UTF-8.
    let lying = String::from_utf8(rss_feed(&[("1", "AI반도체 지원")]))
        .unwrap()
        .replace("encoding=\"UTF-8\"", "encoding=\"EUC-KR\"");
    server.bytes("/lying.xml", lying.into_bytes(), "application/rss+xml");
    for path in ["/invalid.xml", "/lying.xml"] {
        match poll(&one_feed(&server.url(path))).await {
            Ok(PollOutcome::Items { items, .. }) => {
                for item in items {
                    assert!(
                        !item.title.chars().any(|c| c.is_control()),
                        "{path}: {:?}",
                        item.title
                    );
                }
            }
            Ok(other) => panic!("{path}: {other:?}"),
            Err(e) => assert!(
                matches!(e, SourceError::Parse(_)),
                "{path}: a parse error, named: {e}"
            ),
        }
    }
}

#[tokio::test]
async fn an_empty_body_is_an_error_and_an_empty_feed_is_not() {
    let server = FeedServer::start().await;
    server.bytes("/empty", Vec::new(), "application/rss+xml");
    server.bytes(
        "/no-items.xml",
        rss_feed::<&str, &str>(&[]),
        "application/rss+xml",
    );
    let err = poll(&one_feed(&server.url("/empty"))).await.unwrap_err();
    assert!(matches!(err, SourceError::Parse(_)), "{err}");
    match poll(&one_feed(&server.url("/no-items.xml"))).await {
        Ok(PollOutcome::Items { items, .. }) => assert!(items.is_empty()),
        other => panic!("{other:?}"),
    }
}

/// Reads an HTTP request head; false when the client went away first.
async fn read_request(socket: &mut tokio::net::TcpStream) -> bool {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Answers with a one-item feed and closes.
async fn answer_feed(socket: &mut tokio::net::TcpStream, guid: &str, title: &str) {
    let body = rss_feed(&[(guid, title)]);
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&body).await;
}

/// A raw TCP server for what an HTTP library will not do: never answer, or reset mid-body.
/// Serves a valid feed once `healthy` is set.
async fn raw_server(reset_mid_body: bool, healthy: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let healthy = healthy.load(Ordering::SeqCst);
            tokio::spawn(async move {
                if !read_request(&mut socket).await {
                    return;
                }
                if healthy {
                    answer_feed(&mut socket, "raw1", "AI반도체 원시 서버 소식").await;
                } else if reset_mid_body {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml\r\ncontent-length: 100000\r\n\r\n<?xml version=\"1.0\"?><rss><channel>";
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.flush().await;
                    // Close with RST, not FIN. (Deprecated because a non-zero linger blocks
                    // the thread on drop; a zero linger does not.)
                    #[allow(deprecated)]
                    let _ = socket.set_linger(Some(Duration::ZERO));
                    drop(socket);
                } else {
                    tokio::time::sleep(Duration::from_secs(3600)).await; // accept, never answer
                }
            });
        }
    });
    format!("http://{addr}/feed.xml")
}

#[tokio::test]
async fn a_reset_mid_body_and_a_silent_server_are_errors() {
    let down = Arc::new(AtomicBool::new(false));
    let reset = raw_server(true, Arc::clone(&down)).await;
    let silent = raw_server(false, Arc::clone(&down)).await;
    let err = poll(&one_feed(&reset)).await.unwrap_err();
    assert!(matches!(err, SourceError::Fetch(_)), "{err}");
    let err = poll(&one_feed(&silent)).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Fetch(FetchError::Timeout(_))),
        "{err}"
    );
}

/// Every hostile source at once in one `policy-watch once` run of the real binary, next to a
/// good source: one warning line per hostile source naming it and the cause, the good source's
/// notice delivered, exit 1 (some sources failed). Then every source recovers: exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sources_get_one_clear_line_each_and_recover() {
    let server = FeedServer::start().await;
    let healthy = Arc::new(AtomicBool::new(false));
    let good_feed = rss_feed(&[("good1", "AI반도체 정상 소식")]);
    let recovered = rss_feed(&[("ok1", "회복된 소스의 소식")]);
    // (id, cause that the warning must name)
    let mut cases: Vec<(&str, &str, String)> = Vec::new();
    let mut hostile = |id: &'static str, cause: &'static str, reply: Reply| {
        let healthy = Arc::clone(&healthy);
        let recovered = recovered.clone();
        let path = format!("/{id}");
        server.route(&path, move |_| {
            if healthy.load(Ordering::SeqCst) {
                Reply::ok("application/rss+xml", recovered.clone())
            } else {
                reply.clone()
            }
        });
        cases.push((id, cause, server.url(&path)));
    };
    let valid = String::from_utf8(rss_feed(&[("t1", "AI반도체 잘린 소식")])).unwrap();
    hostile(
        "truncated",
        "not a valid RSS/Atom/JSON feed",
        Reply::ok("application/rss+xml", &valid.as_bytes()[..valid.len() / 2]),
    );
    hostile(
        "error-page",
        "HTML page, not a feed",
        Reply::ok(
            "text/html",
            "<html><body><h1>서비스 점검 중입니다</h1></body></html>",
        ),
    );
    hostile(
        "huge",
        "max_body",
        Reply::ok("application/rss+xml", vec![b' '; 3 * 1024 * 1024]),
    );
    hostile(
        "bomb",
        "max_body",
        Reply::ok("application/rss+xml", gzip(&vec![b' '; 32 * 1024 * 1024]))
            .header("content-encoding", "gzip"),
    );
    hostile(
        "trickle",
        "timed out",
        Reply {
            chunked: Some((1, Duration::from_millis(500))),
            ..Reply::ok("application/rss+xml", valid.clone())
        },
    );
    hostile("gone", "HTTP 404", Reply::status(404));
    hostile(
        "empty",
        "not a valid RSS/Atom/JSON feed",
        Reply::ok("application/rss+xml", Vec::new()),
    );
    let looping = server.url("/loop");
    hostile(
        "loop",
        "redirect",
        Reply::status(302).header("location", &looping),
    );
    let reset = raw_server(true, Arc::clone(&healthy)).await;
    let silent = raw_server(false, Arc::clone(&healthy)).await;
    cases.push(("reset", "Connection reset by peer", reset));
    cases.push(("silent", "timed out", silent));

    server.bytes("/good.xml", good_feed, "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let mut sources = feed_source("good", &server.url("/good.xml"), "backfill = 1");
    for (id, _, url) in &cases {
        sources.push_str(&feed_source(id, url, ""));
    }
    let path = dir.path().join("policy-watch.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\npath = \"{}\"\n{}",
            dir.path().join("state").display(),
            config_text(&sources)
        ),
    )
    .unwrap();
    let config_path = path.clone();
    let run = move || {
        support::process::policy_watch(["once", "--config", config_path.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let first = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.contains("AI반도체 정상 소식"),
        "the good source carried on: {stdout}"
    );
    for (id, cause, _) in &cases {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(&format!("source={id}")) && l.contains("WARN"))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "{id}: one warning: {lines:#?}\n{stderr}\n{stdout}"
        );
        assert!(
            lines[0].contains(cause),
            "{id}: names {cause:?}: {}",
            lines[0]
        );
        assert!(
            lines[0].contains(&format!("{id} 보도자료")),
            "{id}: names the source: {}",
            lines[0]
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.contains("once:"))
        .unwrap_or_default()
        .to_owned();
    let failed_all = cases.iter().all(|(id, _, _)| summary.contains(id));
    assert!(
        failed_all,
        "the summary names every failed source: {summary}"
    );

    healthy.store(true, Ordering::SeqCst);
    let second = tokio::task::spawn_blocking(run).await.unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr).into_owned();
    assert_eq!(
        second.status.code(),
        Some(0),
        "every source recovered: {stderr}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");
}

/// Runs `policy-watch once --state-dir state` (no token: notices go to stdout).
fn once_with_state(config: &std::path::Path, state: &std::path::Path) -> std::process::Output {
    support::process::policy_watch(["once", "--config"])
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .output()
        .unwrap()
}

/// Runs `policy-watch once` in a private mount namespace where the state directory is a tmpfs
/// prepared by `prepare` (a shell snippet run after the mount, with $STATE set).
fn once_in_namespace(
    config: &std::path::Path,
    state: &std::path::Path,
    prepare: &str,
) -> std::process::Output {
    let script = format!(
        "set -e; STATE={state}; mount -t tmpfs -o size=64m tmpfs \"$STATE\"; {prepare}; exec {BIN} once --config {config}",
        state = state.display(),
        config = config.display()
    );
    std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("TELOXIDE_TOKEN")
        .env("RUST_LOG", "warn")
        .output()
        .expect("unshare runs")
}

/// A state directory that is read-only, or full, or holds a newer store: a clear error, and
/// nothing destroyed. (Root ignores file permissions, so "read-only" and "full" are a read-only
/// and a tiny tmpfs in a private mount namespace.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_full_or_newer_state_directory_is_a_clear_error() {
    let server = FeedServer::start().await;
    server.bytes(
        "/f.xml",
        rss_feed(&[("1", "AI반도체 소식")]),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let config = dir.path().join("policy-watch.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\n{}",
            state.display(),
            config_text(&feed_source("s", &server.url("/f.xml"), ""))
        ),
    )
    .unwrap();
    let can_mount = std::process::Command::new("unshare")
        .args(["--mount", "true"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        can_mount,
        "this test needs unshare --mount (root in a Linux sandbox)"
    );

    // A store made by a normal run, copied into a read-only mount.
    let seed = dir.path().join("seed");
    let run = once_with_state(&config, &seed);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let read_only = once_in_namespace(
        &config,
        &state,
        &format!(
            "cp -a {}/. \"$STATE\"; mount -o remount,ro \"$STATE\"",
            seed.display()
        ),
    );
    let err = String::from_utf8_lossy(&read_only.stderr);
    assert_eq!(read_only.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&state.display().to_string()),
        "names the directory: {err}"
    );
    assert!(
        err.contains("Read-only file system") || err.contains("read-only"),
        "says why: {err}"
    );

    // Full: a tmpfs with no room left.
    let full = once_in_namespace(
        &config,
        &state,
        "mount -o remount,size=64k \"$STATE\"; head -c 60k /dev/zero > \"$STATE/filler\" || true",
    );
    let err = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(1), "{err}");
    assert!(
        err.contains("No space left") || err.contains("space"),
        "says why: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // A store written by a newer policy-watch: refused, left as it was.
    let newer = dir.path().join("newer");
    {
        let db = sled::open(&newer).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u32.to_be_bytes())
            .unwrap();
        db.open_tree("seen")
            .unwrap()
            .insert("keep-me", &[1])
            .unwrap();
        db.flush().unwrap();
    }
    let out = once_with_state(&config, &newer);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("schema version 99, newer than"), "{err}");
    let db = sled::open(&newer).unwrap();
    assert_eq!(
        db.open_tree("meta")
            .unwrap()
            .get("schema_version")
            .unwrap()
            .unwrap()
            .as_ref(),
        &99u32.to_be_bytes()
    );
    assert!(
        db.open_tree("seen")
            .unwrap()
            .contains_key("keep-me")
            .unwrap()
    );
}

/// A server (like motir.go.kr's firewall) that resets the first `resets` connections at once,
/// then answers. Returns the feed URL and the count of connections accepted.
async fn resetting_server(resets: usize) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if n < resets {
                    #[allow(deprecated)]
                    let _ = socket.set_linger(Some(Duration::ZERO));
                    drop(socket); // RST before any answer
                    return;
                }
                if read_request(&mut socket).await {
                    answer_feed(&mut socket, "r1", "AI반도체 방화벽 뒤의 소식").await;
                }
            });
        }
    });
    (format!("http://{addr}/feed.xml"), accepted)
}

/// A reset connection is tried again within the same poll before it counts as a failure; a
/// server that keeps resetting fails after three tries, not more.
#[tokio::test]
async fn a_reset_connection_is_retried_within_the_poll() {
    let (url, accepted) = resetting_server(2).await;
    match poll(&one_feed(&url)).await {
        Ok(PollOutcome::Items { items, .. }) => {
            assert_eq!(items[0].title, "AI반도체 방화벽 뒤의 소식")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    let (url, accepted) = resetting_server(usize::MAX).await;
    let err = poll(&one_feed(&url)).await.unwrap_err();
    assert!(matches!(err, SourceError::Fetch(_)), "{err}");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        3,
        "three tries, then a failure"
    );
}

/// A proxy (`[http] proxy` or a source's own) carries the requests, with its credentials; the
/// password never shows in an error.
#[tokio::test]
async fn sources_go_through_a_proxy_whose_password_is_never_shown() {
    // The fixture server plays the HTTP proxy: it gets absolute-form requests for a host that
    // does not resolve, and answers them.
    let proxy = FeedServer::start().await;
    proxy.bytes(
        "/feed.xml",
        rss_feed(&[("p1", "AI반도체 프록시 소식")]),
        "application/rss+xml",
    );
    let proxy_url = proxy.url("").replace("http://", "http://watcher:s3cr%40t@");
    let text = config_text(&feed_source(
        "s",
        "http://press.example.invalid/feed.xml",
        &format!("proxy = \"{proxy_url}\""),
    ));
    match poll(&text).await {
        Ok(PollOutcome::Items { items, .. }) => assert_eq!(items[0].title, "AI반도체 프록시 소식"),
        other => panic!("{other:?}"),
    }
    let seen = proxy.requests("/feed.xml");
    let auth = seen[0]
        .header("proxy-authorization")
        .expect("credentials sent");
    // base64("watcher:s3cr@t")
    assert_eq!(auth, "Basic d2F0Y2hlcjpzM2NyQHQ=");

    // The same through [http] proxy, pointing at a closed port: a clear error without the password.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let text = format!(
        "[http]\nproxy = \"http://watcher:s3cr%40t@{closed}\"\nconnect_timeout = \"1s\"\ntimeout = \"2s\"\n\n{}\n{TEST_TOPICS}",
        feed_source("s", "http://press.example.invalid/feed.xml", "")
    );
    let err = poll(&text).await.unwrap_err().to_string();
    assert!(!err.contains("s3cr"), "{err}");
    let config = parse_config(&text);
    let shown = format!(
        "{:?} {}",
        config.http.proxy,
        config.http.proxy.as_ref().unwrap()
    );
    assert!(!shown.contains("s3cr") && shown.contains("***"), "{shown}");
    // Like the bot token, the credentials are masked in every log line and error text.
    let logged = policy_watch::secret::redact(&format!(
        "error sending request via http://watcher:s3cr%40t@{closed}/ (watcher:s3cr@t)"
    ));
    assert!(!logged.contains("s3cr"), "{logged}");
}

#[tokio::test]
async fn server_error_carries_retry_after() {
    let server = FeedServer::start().await;
    server.route("/busy", |_| Reply::status(503).header("retry-after", "120"));
    let err = poll(&one_feed(&server.url("/busy"))).await.unwrap_err();
    match err {
        SourceError::Fetch(e @ FetchError::Status { .. }) => {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = FeedServer::start().await;
    let body = support::feeds::fixture("rss2.xml");
    server.route("/slow", move |_| Reply {
        delay: Duration::from_secs(10),
        ..Reply::ok("application/rss+xml", body.clone())
    });
    let started = Instant::now();
    let err = poll(&one_feed(&server.url("/slow"))).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Fetch(FetchError::Timeout(_))),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the 2 s timeout applied"
    );
}

#[tokio::test]
async fn trickling_body_hits_the_total_timeout() {
    let server = FeedServer::start().await;
    let body = support::feeds::fixture("rss2.xml");
    server.route("/trickle", move |_| Reply {
        chunked: Some((16, Duration::from_millis(200))),
        ..Reply::ok("application/rss+xml", body.clone())
    });
    let err = poll(&one_feed(&server.url("/trickle"))).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Fetch(FetchError::Timeout(_))),
        "{err}"
    );
}

#[tokio::test]
async fn body_over_the_cap_is_refused_with_and_without_length() {
    let server = FeedServer::start().await;
    let big = vec![b' '; 2 * 1024 * 1024];
    server.bytes("/big", big.clone(), "application/rss+xml");
    server.route("/big-chunked", move |_| Reply {
        chunked: Some((64 * 1024, Duration::ZERO)),
        ..Reply::ok("application/rss+xml", big.clone())
    });
    for path in ["/big", "/big-chunked"] {
        let err = poll(&one_feed(&server.url(path))).await.unwrap_err();
        assert!(
            matches!(err, SourceError::Fetch(FetchError::TooLarge { .. })),
            "{path}: {err}"
        );
        assert!(err.to_string().contains("max_body"), "{err}");
    }
}

#[tokio::test]
async fn malformed_xml_and_html_error_page_are_clear_errors() {
    let server = FeedServer::start().await;
    server.file("/bad.xml", "malformed.xml", "application/rss+xml");
    server.file("/maint", "error_page.html", "text/html");
    let err = poll(&one_feed(&server.url("/bad.xml"))).await.unwrap_err();
    assert!(
        matches!(err, SourceError::Parse(ParseError::NotAFeed(_))),
        "{err}"
    );
    let err = poll(&one_feed(&server.url("/maint"))).await.unwrap_err();
    assert!(err.to_string().contains("HTML page, not a feed"), "{err}");
}
