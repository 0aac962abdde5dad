//! The daemon as systemd sees it: notifications on NOTIFY_SOCKET, the watchdog, SIGHUP reloads.

use crate::support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::feeds::FeedServer;
use support::process::{capture_output, signal, stderr_lines, wait_exit};
use support::*;

fn spawn(config: &Path, envs: &[(&str, &str)]) -> Child {
    let mut cmd = support::process::policy_watch(["run", "--config", config.to_str().unwrap()]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn config(dir: &Path, sources: &str) -> String {
    format!(
        "[store]\npath = \"{}\"\n{}",
        dir.join("state").display(),
        config_text(sources)
    )
}

// Multi-threaded: the test blocks on the notify socket while the feed server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_gets_ready_watchdog_and_stopping() {
    let feeds = FeedServer::start().await;
    feeds.file("/rss2.xml", "rss2.xml", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let path = config_file(
        dir.path(),
        &config(dir.path(), &feed_source("f", &feeds.url("/rss2.xml"), "")),
    );
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let mut child = spawn(
        &path,
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    let logs = capture_output(&mut child);
    let mut buf = vec![0u8; 4096];
    let mut receive = || {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no notification within 10 s: {e}"));
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let first = receive();
    assert!(first.contains("READY=1"), "{first}");
    assert!(first.contains("STATUS=1 sources, 0 pending"), "{first}");
    // The watchdog is fed at half its period while the pipeline is alive.
    let started = Instant::now();
    let mut pings = 0;
    let mut statuses = Vec::new();
    while pings < 4 {
        let message = receive();
        if message.contains("WATCHDOG=1") {
            pings += 1;
        }
        statuses.push(message);
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "4 pings at ~0.5 s intervals took {:?}",
        started.elapsed()
    );
    assert!(
        statuses
            .iter()
            .any(|s| s.contains("last poll ") && !s.contains("none yet")),
        "{statuses:?}"
    );

    signal(&child, "-TERM");
    let mut stopping = false;
    for _ in 0..20 {
        if receive().contains("STOPPING=1") {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "STOPPING=1 after SIGTERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
    let logs = logs.join().unwrap();
    assert!(!logs.contains("cannot notify systemd"), "{logs}");
}

#[tokio::test]
async fn sighup_applies_a_valid_config_and_keeps_the_old_one_when_invalid() {
    let feeds = FeedServer::start().await;
    feeds.file("/a.xml", "rss2.xml", "application/rss+xml");
    feeds.file("/b.xml", "atom.xml", "application/atom+xml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy-watch.toml");
    let source_a = feed_source("a", &feeds.url("/a.xml"), "");
    std::fs::write(&path, config(dir.path(), &source_a)).unwrap();
    let mut child = spawn(&path, &[]);
    let logs = capture_output(&mut child);
    let started = Instant::now();
    while feeds.requests("/a.xml").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "source a never polled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A valid change: source b added. It is polled at once, without a restart.
    let source_b = feed_source("b", &feeds.url("/b.xml"), "");
    std::fs::write(&path, config(dir.path(), &format!("{source_a}{source_b}"))).unwrap();
    signal(&child, "-HUP");
    let started = Instant::now();
    while feeds.requests("/b.xml").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the new source was never polled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // An invalid change: refused, reported with line:column; the daemon keeps running.
    std::fs::write(&path, format!("{source_a}interval = \"5s\"\n")).unwrap();
    signal(&child, "-HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running after a bad reload"
    );

    signal(&child, "-TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
    let logs = logs.join().unwrap();
    assert!(
        logs.contains("config reloaded: 2 sources running; added [b], removed [], changed []"),
        "{logs}"
    );
    assert!(
        logs.contains("reload refused, the running config stays"),
        "{logs}"
    );
    assert!(
        logs.contains(&format!("{}:8:12: interval", path.display())),
        "{logs}"
    );
    // Source b's first poll was a baseline like any new source's.
    assert!(
        logs.contains("b 보도자료: first poll, 2 items recorded as seen"),
        "{logs}"
    );
}

/// Checks Prometheus text exposition: `# HELP`/`# TYPE` comments and `name{labels} value` samples.
fn assert_prometheus_text(text: &str) {
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("TYPE ") || comment.starts_with("HELP "),
                "bad comment {line:?}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in {line:?}"));
        assert!(
            value.parse::<f64>().is_ok() || value == "+Inf" || value == "NaN",
            "bad value in {line:?}"
        );
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "bad labels in {line:?}"
            );
        }
    }
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_healthz_are_served_and_move() {
    let feeds = FeedServer::start().await;
    feeds.file("/rss2.xml", "rss2.xml", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    // Port 0: the daemon picks a free port and logs it.
    let text = format!(
        "[metrics]\nlisten = \"127.0.0.1:0\"\n{}",
        config(dir.path(), &feed_source("f", &feeds.url("/rss2.xml"), ""))
    );
    let path = config_file(dir.path(), &text);
    let mut child = spawn(&path, &[]);
    let logs = stderr_lines(&mut child);
    let started = Instant::now();
    let base = loop {
        let text = logs.lock().unwrap().clone();
        if let Some(at) = text.find("metrics on http://") {
            let rest = &text[at + "metrics on ".len()..];
            break rest[..rest.find("/metrics").unwrap()].to_owned();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the daemon exited:\n{text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no metrics listener after 20 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let client = reqwest::Client::new();
    let started = Instant::now();
    let metrics = loop {
        if let Ok(response) = client.get(format!("{base}/metrics")).send().await {
            let body = response.text().await.unwrap();
            // The fetch is counted by the poller, the new items once the ingest stage has
            // committed them, a moment later: wait for both.
            if body.contains("policy_watch_fetches_total")
                && body.contains("policy_watch_items_new_total")
            {
                break body;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no metrics after 20 s:\n{}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_prometheus_text(&metrics);
    assert_eq!(
        sample(
            &metrics,
            "policy_watch_fetches_total{source=\"f\",result=\"ok\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "policy_watch_items_new_total{source=\"f\"}"),
        Some(3.0),
        "{metrics}"
    );
    assert!(
        metrics.contains("policy_watch_fetch_duration_seconds_bucket{source=\"f\",le=\"0.05\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("policy_watch_source_last_success_timestamp_seconds{source=\"f\"}"),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "policy_watch_outbox_depth"),
        Some(0.0),
        "{metrics}"
    );

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // A reload moves its counter.
    signal(&child, "-HUP");
    let started = Instant::now();
    loop {
        let body = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if sample(&body, "policy_watch_config_reloads_total{result=\"ok\"}") == Some(1.0) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&child, "-TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0));
    drop(logs);
}
