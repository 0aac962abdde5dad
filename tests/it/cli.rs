//! The real binary as a process: exit codes, config errors with file:line:column, dry-run output,
//! signals, the single-instance guard.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::feeds::{FeedServer, Reply};
use support::*;

fn command(args: &[&str]) -> Command {
    support::process::policy_watch(args)
}

/// Runs the binary to completion on a blocking thread (the fixture server keeps serving).
async fn run_bin(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        command(&args).output().unwrap()
    })
    .await
    .unwrap()
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    config_file(dir, text)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_accepts_the_shipped_config() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/policy-watch.toml");
    let out = command(&["check-config", "--config", shipped.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok (5 sources, 4 enabled; 12 topics)"),
        "{}",
        text(&out.stdout)
    );
    // Each source's schedule and its next polls.
    assert!(
        text(&out.stdout).contains("msit-press: every 3m 08:00–19:00 KST on weekdays and 30 s after each full hour, every 20m otherwise; next "),
        "{}",
        text(&out.stdout)
    );
}

const TOPIC: &str = "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [\"AI\"]\n";

const SOURCE: &str = "[[source]]\nid = \"s\"\nname = \"S\"\nministry = \"M\"\nkind = \"feed\"\nurl = \"https://example.org/rss\"\n";

#[test]
fn bad_configs_exit_78_with_file_line_column() {
    let list_source = "[[source]]\nid = \"l\"\nname = \"L\"\nministry = \"M\"\nkind = \"html_list\"\nurl = \"https://example.org/\"\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{SOURCE}intervall = \"10m\"\n"),
            ":7:1:",
            "unknown field `intervall`",
        ),
        (format!("{SOURCE}interval = 10\n"), ":7:12:", "invalid type"),
        (format!("{SOURCE}interval = \"20s\"\n"), ":7:12:", "minimum"),
        (
            format!("{SOURCE}interval = \"soon\"\n"),
            ":7:12:",
            "invalid duration",
        ),
        (
            SOURCE.replace("https://example.org/rss", "example.org/rss"),
            ":6:7:",
            "invalid URL",
        ),
        (
            SOURCE.replace("https://example.org/rss", "ftp://example.org/rss"),
            ":6:7:",
            "http",
        ),
        (format!("{SOURCE}{SOURCE}"), ":8:6:", "duplicate source id"),
        (
            SOURCE.replace("id = \"s\"", "id = \"MSIT press\""),
            ":2:6:",
            "invalid id",
        ),
        (
            SOURCE.replace("kind = \"feed\"", "kind = \"rss\""),
            ":5:8:",
            "unknown variant",
        ),
        (list_source.to_owned(), ":5:8:", "no [source.select]"),
        (
            format!("{list_source}[source.select]\nitem = \"li[\"\ntitle = \"a\"\n"),
            ":8:8:",
            "invalid CSS selector",
        ),
        (
            format!("{SOURCE}form = {{ a = \"b\" }}\n"),
            ":7:8:",
            "method = \"POST\"",
        ),
        (
            "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = []\n".to_owned(),
            ":2:6:",
            "has no keywords",
        ),
        (
            "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [\"AI\", \" · \"]\n".to_owned(),
            ":5:12:",
            "empty once spacing and punctuation are ignored",
        ),
        (
            "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [\"AI\"]\nrequire = [[\"반도체\"], []]\n".to_owned(),
            ":6:11:",
            "require group 2 is empty",
        ),
        (
            "[classify]\nthreshold = 0\n".to_owned(),
            ":2:13:",
            "threshold 0 is out of range",
        ),
        (
            "[schedule]\nbusy = \"19:00-08:00\"\nbusy_interval = \"3m\"\nquiet_interval = \"20m\"\n".to_owned(),
            ":1:1:",
            "ends before it starts",
        ),
        (
            format!("{SOURCE}[source.schedule]\nbusy_interval = \"30s\"\nquiet_interval = \"20m\"\n"),
            ":8:17:",
            "minimum",
        ),
        (
            "[schedule]\nbusy_interval = \"30m\"\nquiet_interval = \"20m\"\n".to_owned(),
            ":1:1:",
            "longer than quiet_interval",
        ),
        (
            "[schedule]\nbusy = \"8-19\"\nbusy_interval = \"3m\"\nquiet_interval = \"20m\"\n".to_owned(),
            ":1:1:",
            "not a range of KST times",
        ),
        (
            "[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#AI 반도체\"\nkeywords = [\"AI\"]\n"
                .to_owned(),
            ":4:11:",
            "invalid hashtag",
        ),
        (
            "[store]\ncache_size = \"lots\"\n".to_owned(),
            ":2:14:",
            "invalid size",
        ),
        (
            "[http\ntimeout = \"1s\"\n".to_owned(),
            ":1:6:",
            "unclosed table",
        ),
        (
            "[http]\nmax_per_host = 0\n".to_owned(),
            ":2:16:",
            "nonzero",
        ),
        (
            "[telegram]\nbot = \"yes\"\n".to_owned(),
            ":2:7:",
            "invalid type",
        ),
        (
            "[telegram]\n[[telegram.destination]]\nchat = \"@policy_channel\"\ntopics = [\"nope\"]\n".to_owned(),
            ":4:11:",
            "unknown topic",
        ),
        (
            format!("{TOPIC}{}\n[telegram]\n[[telegram.destination]]\nchat = \"@policy_channel\"\ntopics = [\"nope\"]\n", TOPIC.replace("\"t\"", "\"a\"")),
            ":15:11:",
            "known topics: t, a",
        ),
        ("[store]\nkeep_seen = \"1m\"\n".to_owned(), ":2:13:", "below the minimum of 7d"),
        (
            "[telegram]\nadmins = [\"@me\"]\n".to_owned(),
            ":2:10:",
            "not a numeric user id",
        ),
        (
            format!("{TOPIC}\n[telegram]\n[[telegram.destination]]\nchat = \"@policy_channel\"\ntopics = []\n"),
            ":8:1:",
            "would never get a notice",
        ),
        (
            format!("[classify]\nexclude = [\"인사\"]\n\n{}", TOPIC.replace("keywords = [\"AI\"]", "keywords = [\"AI\", \" 인사 \"]")),
            ":5:6:",
            "is also a global exclusion",
        ),
        (
            format!("{list_source}[source.select]\nitem = \"li\"\ntitle = \"td..x\"\n"),
            ":9:9:",
            "a '.' must be followed by a class name",
        ),
        (String::new(), ":1:1:", "no [[topic]]"),
        (TOPIC.to_owned(), ":1:1:", "no enabled [[source]]"),
        (
            format!("{SOURCE}\n{TOPIC}\n[telegram]\ntoken_file = \"/nonexistent/token\"\n"),
            ":15:14:",
            "telegram.token_file /nonexistent/token",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (config, location, message) in cases {
        let path = write_config(dir.path(), &config);
        let out = command(&["check-config", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{config}\n{stderr}");
        let expected = format!("{}{location}", path.display());
        assert!(
            stderr.contains(&expected),
            "expected {expected} in:\n{stderr}\nfor:\n{config}"
        );
        assert!(
            stderr.contains(message),
            "expected {message:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_missing_config_file_is_a_config_error() {
    let out = command(&["check-config", "--config", "/nonexistent/policy-watch.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(text(&out.stderr).contains("/nonexistent/policy-watch.toml"));
}

fn daemon_config(server: &FeedServer, state: &Path, extra_sources: &str) -> String {
    let sources = format!(
        "{}{extra_sources}",
        feed_source("f", &server.url("/rss2.xml"), "")
    );
    format!(
        "[store]\npath = \"{}\"\n{}",
        state.display(),
        config_text(&sources)
    )
}

/// The RSS 2.0 fixture served on 127.0.0.1 and a config for it, with the store in `state` beside
/// the config file.
async fn rss2_daemon() -> (FeedServer, tempfile::TempDir, PathBuf) {
    let server = FeedServer::start().await;
    server.file("/rss2.xml", "rss2.xml", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &daemon_config(&server, &dir.path().join("state"), ""),
    );
    (server, dir, path)
}

#[tokio::test]
async fn once_dry_run_previews_the_baseline_and_exits_0() {
    let (_server, _dir, path) = rss2_daemon().await;
    let out = run_bin(vec![
        "once".into(),
        "--dry-run".into(),
        "--config".into(),
        path.display().to_string(),
    ])
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let previews = previewed_titles(&stdout);
    assert_eq!(previews.len(), 2, "{stdout}");
    assert!(sent_titles(&stdout).is_empty());
    assert!(
        stderr.contains("first poll, 3 items recorded as seen"),
        "{stderr}"
    );
    assert!(stderr.contains("dry run"), "{stderr}");
}

#[tokio::test]
async fn once_without_token_says_so_once_and_fails_when_a_source_fails() {
    let server = FeedServer::start().await;
    server.file("/rss2.xml", "rss2.xml", "application/rss+xml");
    server.route("/down.xml", |_| Reply::status(502));
    let dir = tempfile::tempdir().unwrap();
    let down = feed_source("down", &server.url("/down.xml"), "");
    let path = write_config(
        dir.path(),
        &daemon_config(&server, &dir.path().join("state"), &down),
    );
    let out = run_bin(vec![
        "once".into(),
        "--config".into(),
        path.display().to_string(),
    ])
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("no Telegram token").count(), 1, "{stderr}");
    assert!(
        stderr.contains("down 보도자료") && stderr.contains("HTTP 502"),
        "{stderr}"
    );
    assert!(stderr.contains("1 failed (down)"), "{stderr}");
    // The healthy source was still recorded.
    assert!(
        stderr.contains("first poll, 3 items recorded as seen"),
        "{stderr}"
    );
}

fn spawn_daemon(config: &Path) -> Child {
    command(&["run", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn sigterm_stops_the_daemon_with_exit_0_and_a_second_instance_is_refused() {
    let (server, _dir, path) = rss2_daemon().await;
    let mut daemon = spawn_daemon(&path);
    let output = support::process::capture_output(&mut daemon);

    // Wait for the first poll to reach the server: the daemon is up and holds the store.
    let started = Instant::now();
    while server.requests("/rss2.xml").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "daemon never polled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let second = run_bin(vec![
        "once".into(),
        "--config".into(),
        path.display().to_string(),
    ])
    .await;
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by another policy-watch process"),
        "{stderr}"
    );

    support::process::signal(&daemon, "-TERM");
    let code = tokio::task::spawn_blocking(move || {
        support::process::wait_exit(&mut daemon, Duration::from_secs(10))
    })
    .await
    .unwrap();
    let stderr = output.join().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");

    // The store was flushed and released: a new process opens it and sees the baseline.
    let again = run_bin(vec![
        "once".into(),
        "--config".into(),
        path.display().to_string(),
    ])
    .await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        previewed_titles(&text(&again.stdout)).is_empty(),
        "baseline is not repeated"
    );
    assert!(
        text(&again.stderr).contains("0 new items"),
        "{}",
        text(&again.stderr)
    );
}

fn shipped_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/policy-watch.toml")
        .display()
        .to_string()
}

/// `explain` with the shipped config: its stdout, after checking it succeeded.
fn shipped_explain(args: &[&str]) -> String {
    let config = shipped_config();
    let mut all = vec!["explain", "--config", config.as_str()];
    all.extend_from_slice(args);
    let out = command(&all).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn explain_shows_matches_spans_and_vetoes() {
    let config = shipped_config();
    let out = command(&[
        "explain",
        "--config",
        &config,
        "과기정통부, ＡＩ·반도체 NPU 실증 확대",
        "국산 신경망처리장치 보급",
    ])
    .output()
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("result:  ai_chip_npu"), "{stdout}");
    assert!(
        stdout.contains("AI반도체 (title: \"AI·반도체\")"),
        "{stdout}"
    );
    assert!(stdout.contains("NPU (title: \"NPU\")"), "{stdout}");
    assert!(
        stdout.contains("신경망처리장치 (summary: \"신경망처리장치\")"),
        "{stdout}"
    );

    // Trade statistics that cite HBM stay out, and the veto is named.
    let out = command(&[
        "explain",
        "--config",
        &config,
        "2026년 4월 정보통신산업(ICT) 수출입 동향",
        "HBM 수출 호조",
    ])
    .output()
    .unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("result:  not relevant"), "{stdout}");
    assert!(
        stdout.contains("global exclusions: 수출입 동향 (title: \"수출입 동향\")"),
        "{stdout}"
    );
}

#[test]
fn explain_reads_an_item_file_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let item = dir.path().join("item.json");
    std::fs::write(
        &item,
        r#"{"id": "x", "title": "인공지능 팹리스 지원 공고", "summary": null, "labels": []}"#,
    )
    .unwrap();
    let out = command(&[
        "explain",
        "--config",
        &shipped_config(),
        "--item",
        item.to_str().unwrap(),
        "--json",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let chip = json["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "ai_chip_npu")
        .unwrap();
    // A generic word (팹리스) counts because an anchor (인공지능) is present.
    assert_eq!(chip["decision"]["decision"], "match", "{chip}");
    assert_eq!(chip["counted"][0]["keyword"], "팹리스");
    assert_eq!(json["anchors"][0]["keyword"], "인공지능");

    let missing = command(&[
        "explain",
        "--config",
        &shipped_config(),
        "--item",
        "/nonexistent.json",
    ])
    .output()
    .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("/nonexistent.json"));
}

#[tokio::test]
async fn the_token_comes_from_systemd_credentials_or_a_token_file() {
    let server = FeedServer::start().await;
    server.bytes("/f.xml", numbered_feed(1), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("creds");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(
        credentials.join("telegram-token"),
        "4242:fake-test-token-not-a-secret\n",
    )
    .unwrap();
    // A baseline poll sends nothing: `once` resolves the token and says where it came from.
    let config = format!(
        "{}[[telegram.destination]]\nchat = \"@some_channel\"\n",
        config_text(&feed_source("f", &server.url("/f.xml"), ""))
    );
    let path = write_config(
        dir.path(),
        &format!(
            "[store]\npath = \"{}\"\n{config}",
            dir.path().join("state").display()
        ),
    );
    let out = tokio::task::spawn_blocking(move || {
        command(&["once", "--config", path.to_str().unwrap()])
            .env("CREDENTIALS_DIRECTORY", &credentials)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("token from") && stderr.contains("creds/telegram-token"),
        "{stderr}"
    );
    assert!(!stderr.contains("fake-test-token"), "{stderr}");

    // A missing token file is a configuration error naming the file, exit 78 — for
    // `check-config` as for `once`.
    let missing = dir.path().join("no-such-token");
    let with_file = format!(
        "{}[telegram]\ntoken_file = \"{}\"\n",
        config_text(&feed_source("f", "https://example.org/f.xml", "")),
        missing.display()
    );
    let path = write_config(dir.path(), &with_file);
    for cmd in ["check-config", "once"] {
        let out = command(&[cmd, "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(78), "{cmd}");
        assert!(
            text(&out.stderr).contains("no-such-token"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[tokio::test]
async fn under_journald_log_lines_have_no_timestamps_or_colours() {
    let (_server, _dir, path) = rss2_daemon().await;
    let out = tokio::task::spawn_blocking(move || {
        command(&["once", "--dry-run", "--config", path.to_str().unwrap()])
            .env("JOURNAL_STREAM", "8:12345")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI colours: {stderr:?}");
    let line = stderr.lines().find(|l| l.contains("first poll")).unwrap();
    assert!(
        line.trim_start().starts_with("INFO "),
        "level first, no timestamp: {line:?}"
    );
}

/// `explain` says the two rules that otherwise surprise: adjacent keywords are one piece of
/// evidence, and a strong keyword overrides an exclusion. A closed pipe is not an error.
#[test]
fn explain_shows_adjacent_evidence_and_overridden_exclusions() {
    let stdout = shipped_explain(&["신규 과제 공모", "K-AP 지능형 반도체 개발"]);
    assert!(
        stdout.contains("summary[K-AP + 지능형 반도체] 1 (adjacent: one piece of evidence) = 1"),
        "{stdout}"
    );
    // A strong keyword in the lead weighs as in the title; past the lead it does not.
    let stdout = shipped_explain(&["신규 과제 공모", "NPU 뉴로모픽 개발"]);
    assert!(
        stdout.contains(
            "summary[NPU + 뉴로모픽] 2 (strong, in the lead: weighs as in the title) = 2"
        ),
        "{stdout}"
    );
    let late = format!("{} NPU 개발", "가".repeat(320));
    let stdout = shipped_explain(&["신규 과제 공모", &late]);
    assert!(stdout.contains("summary[NPU] 1 = 1"), "{stdout}");
    assert!(stdout.contains("result:  not relevant"), "{stdout}");
    // Past summary_chars nothing is read.
    let beyond = format!("{} NPU 뉴로모픽 개발", "가".repeat(700));
    let stdout = shipped_explain(&["신규 과제 공모", &beyond]);
    assert!(!stdout.contains("matched:"), "{stdout}");
    // An exclusion only in the summary does not veto evidence in the title; in the title it does.
    let stdout = shipped_explain(&["K-AP 개발 착수", "원전 수출과 함께 발표"]);
    assert!(stdout.contains("result:  ai_chip_npu"), "{stdout}");
    assert!(stdout.contains("exclusion not applied"), "{stdout}");
    let stdout = shipped_explain(&["원전 K-AP 개발 착수"]);
    assert!(stdout.contains("result:  not relevant"), "{stdout}");
    let stdout = shipped_explain(&["인사 발령: AI반도체 국장"]);
    assert!(
        stdout.contains("exclusion not applied (overridden by a strong keyword; only in the summary while the evidence is in the title; or a global one listed with the topic's keyword in the title, as in \"AI반도체와 양자 기술\"): 인사 발령"),
        "{stdout}"
    );

    let mut child = command(&["explain", "--json", "--config", &shipped_config(), "NPU"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away (`| head`)
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

const EVAL_TOPICS: &str = r##"
[[topic]]
id = "chips"
name = "AI반도체"
hashtag = "#AI반도체"
strong = ["AI반도체"]
keywords = ["NPU"]
exclude = ["관세", "전시회"]
"##;

const EVAL_ITEMS: &str = r#"{"id": "a", "title": "NPU 개발 착수", "labels": ["chips"], "confidence": "high"}
{"id": "b", "title": "NPU 관세 영향", "summary": null, "labels": []}

{"id": "c", "title": "팹리스 지원", "summary": "AI반도체 팹리스 육성", "labels": ["chips"]}
{"id": "d", "title": "지능형 반도체 설계 인력 양성", "labels": ["chips"]}
{"id": "e", "title": "NPU 칩 개발 성과 공개", "labels": []}
{"id": "f", "title": "지능형 반도체 실증", "labels": ["chips"]}
"#;

/// `eval` measures a config on labelled items: counts, per-topic scores, every error with the
/// classifier's reason; `--against` says what a config change moves; `--suggest` mines the
/// misses; `--json` carries the same; a broken line is named by file:line:column.
#[test]
fn eval_measures_a_config_and_what_a_change_moves() {
    let dir = tempfile::tempdir().unwrap();
    let base = "[[source]]\nid = \"s\"\nname = \"S\"\nministry = \"M\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/f\"\n";
    let config = write_config(dir.path(), &format!("{base}{EVAL_TOPICS}"));
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        format!(
            "{base}{}",
            EVAL_TOPICS.replace(
                "keywords = [\"NPU\"]",
                "keywords = [\"NPU\", \"지능형 반도체\"]"
            )
        ),
    )
    .unwrap();
    let items = dir.path().join("items.jsonl");
    std::fs::write(&items, EVAL_ITEMS).unwrap();
    let config = config.display().to_string();
    let items = items.display().to_string();

    let out = command(&["eval", "--config", &config, &items, "--suggest"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.starts_with("6 labelled items"), "{stdout}");
    // a and c right (c by a strong keyword in the lead), e wrong, d and f missed.
    assert!(
        stdout.contains("relevant (item)           2    1    2   0.67   0.50   0.57"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("FP* e [-] chips \"NPU 칩 개발 성과 공개\": matched NPU (title) (score 2/2)"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("FN* d [-] chips \"지능형 반도체 설계 인력 양성\": no keyword of the topic"),
        "{stdout}"
    );
    assert!(!stdout.contains(" b "), "b is rightly vetoed: {stdout}");
    assert!(
        stdout.contains("chips                  지능형 반도체                  in 2 misses, 2 of the topic's items, 0 others"),
        "{stdout}"
    );

    let out = command(&[
        "eval",
        "--config",
        &config,
        &items,
        "--against",
        &other.display().to_string(),
        "--json",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["report"]["item"]["tp"], 2);
    assert_eq!(json["report"]["item"]["fn"], 2);
    assert_eq!(json["report"]["topics"][0]["id"], "chips");
    // From other.toml (which knows 지능형 반도체) to this config: d and f are lost.
    assert_eq!(json["against"]["topics"][0]["lost_tp"], 2, "{json}");
    assert_eq!(json["against"]["topics"][0]["gained_tp"], 0, "{json}");
    let changed: Vec<&str> = json["against"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["d", "f"]);

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"id\": \"a\", \"title\": \"x\", \"labels\": []}\n{\"id\": \"b\", \"title\": }\n",
    )
    .unwrap();
    let out = command(&["eval", "--config", &config, &bad.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bad.jsonl:2:"),
        "{}",
        text(&out.stderr)
    );
}

/// `check-sources` fetches every enabled source now and shows what it yields, with warnings
/// for what will go wrong later (keys that carry the day's date), without touching the store.
#[tokio::test]
async fn check_sources_shows_items_keys_and_what_will_go_wrong() {
    let server = FeedServer::start().await;
    server.bytes(
        "/f.xml",
        rss_feed(&[("n2", "AI반도체 둘째 소식"), ("n1", "AI반도체 첫 소식")]),
        "application/rss+xml",
    );
    server.file(
        "/list",
        "korea_kr_press_list.html",
        "text/html; charset=UTF-8",
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let list = |id: &str, title: &str| {
        format!(
            "[[source]]\nid = \"{id}\"\nname = \"{id}\"\nministry = \"M\"\nkind = \"html_list\"\nurl = \"{}\"\n\n[source.select]\nitem = \"div.list_type ul li\"\ntitle = \"{title}\"\nlink = \"a\"\ndate = \"span.source span:first-child\"\n",
            server.url("/list")
        )
    };
    let config = format!(
        "[store]\npath = \"{}\"\n{}",
        state.display(),
        config_text(&format!(
            "{}\n{}\n{}",
            feed_source("good", &server.url("/f.xml"), ""),
            list("korea", "span.text strong"),
            list("broken", "td.subject a")
        ))
    );
    let path = write_config(dir.path(), &config);
    let out = run_bin(vec![
        "check-sources".into(),
        "--config".into(),
        path.to_str().unwrap().into(),
    ])
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("good — good") && stdout.contains("2 rows, 0 filtered out, 2 items"),
        "{stdout}"
    );
    assert!(
        stdout.contains("AI반도체 둘째 소식") && stdout.contains("key:  g:n2"),
        "{stdout}"
    );
    assert!(stdout.contains("read as UTF-8"), "{stdout}");
    assert!(stdout.contains("warning: keys contain dates"), "{stdout}");
    assert!(
        stdout.contains("FAILED") && stdout.contains("td.subject a"),
        "the broken selector is named: {stdout}"
    );
    assert!(stdout.contains("2 of 3 sources yield items"), "{stdout}");
    assert!(!state.exists(), "the store was not touched");

    let out = run_bin(vec![
        "check-sources".into(),
        "--config".into(),
        path.to_str().unwrap().into(),
        "--source".into(),
        "good".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// `check-telegram` proves the Telegram side before the first notice: per destination whether
/// the bot may post there and, if not, the fix; `--send-test` posts to those that pass; a bad
/// token is named by where it came from, never shown.
#[tokio::test]
async fn check_telegram_says_where_the_bot_can_post_and_how_to_fix_the_rest() {
    use support::telegram::{BotRole, ChatStatus, TOKEN, TelegramServer};
    let tg = TelegramServer::start(None).await;
    tg.set_bot_role("@ok_channel", BotRole::Admin { can_post: true });
    tg.set_bot_role("@member_channel", BotRole::Member);
    tg.set_bot_role("@mute_channel", BotRole::Admin { can_post: false });
    tg.set_chat("@missing_channel", ChatStatus::NotFound);
    tg.set_bot_role("-42", BotRole::Member);
    let dir = tempfile::tempdir().unwrap();
    let destinations: String = [
        "@ok_channel",
        "@member_channel",
        "@mute_channel",
        "@missing_channel",
        "-42",
    ]
    .iter()
    .map(|c| destination(c, None))
    .collect();
    let config = format!(
        "{}[telegram]\napi_url = \"{}\"\n{destinations}",
        config_text(&feed_source("f", "https://example.org/f.xml", "")),
        tg.url()
    );
    let path = write_config(dir.path(), &config);
    let run = |args: Vec<&str>, token: &str| {
        let (args, token): (Vec<String>, String) = (
            args.iter().map(|a| a.to_string()).collect(),
            token.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            command(&args)
                .env("TELOXIDE_TOKEN", token)
                .output()
                .unwrap()
        })
    };
    let out = run(
        vec!["check-telegram", "--config", path.to_str().unwrap()],
        TOKEN,
    )
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok   token from TELOXIDE_TOKEN: bot @policy_watch_test_bot"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   @ok_channel: channel; the bot is an administrator allowed to post"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "FAIL @member_channel: channel; the bot is only a member: make it an administrator"
        ),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("FAIL @mute_channel: channel; the bot is an administrator but may not post"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL @missing_channel: Telegram knows no such chat"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   -42: group; the bot is a member"),
        "{stdout}"
    );
    assert!(stdout.contains("3 problem(s)"), "{stdout}");
    assert!(
        tg.sent().is_empty(),
        "nothing is posted without --send-test"
    );

    let out = run(
        vec![
            "check-telegram",
            "--send-test",
            "--config",
            path.to_str().unwrap(),
        ],
        TOKEN,
    )
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let sent: Vec<String> = tg.sent().iter().map(|m| m.chat.clone()).collect();
    assert_eq!(
        sent,
        vec!["@ok_channel", "-42"],
        "only where the bot may post"
    );

    let wrong = "4242:not-the-right-token";
    let out = run(
        vec!["check-telegram", "--config", path.to_str().unwrap()],
        wrong,
    )
    .await
    .unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("Telegram refused the token from TELOXIDE_TOKEN"),
        "{all}"
    );
    assert!(
        !all.contains("not-the-right-token"),
        "the token is never shown: {all}"
    );
}

/// `--version` names the commit; the man page and completions come from the clap definition
/// (so they list every command, including the newest).
#[test]
fn version_names_the_commit_and_assets_follow_the_cli() {
    let out = command(&["--version"]).output().unwrap();
    let version = text(&out.stdout);
    assert!(
        version.starts_with(&format!("policy-watch {} (", env!("CARGO_PKG_VERSION")))
            && version.trim_end().ends_with(')'),
        "{version}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = command(&["generate-assets", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let man = std::fs::read_to_string(dir.path().join("policy-watch.1")).unwrap();
    assert!(
        man.contains(".TH policy-watch 1") && man.contains("check\\-telegram"),
        "{man}"
    );
    for file in ["policy-watch.bash", "_policy-watch", "policy-watch.fish"] {
        let completion = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(
            completion.contains("check-sources") && completion.contains("send-test"),
            "{file}"
        );
    }
}

/// `vocab ARCHIVE --against OLD.toml`: every release of an unlabelled Markdown archive whose
/// topics a config change moves, and the counts, from the real binary.
#[test]
fn vocab_against_lists_what_a_change_moves_on_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive/2026/03");
    std::fs::create_dir_all(&archive).unwrap();
    for (file, title, body) in [
        (
            "001_과학기술정보통신부_a.md",
            "인공지능(AI) 표준화 전략 마련 착수",
            "국제표준화기구와 협력",
        ),
        (
            "002_과학기술정보통신부_b.md",
            "국산 NPU 실증 확대",
            "데이터센터에 NPU",
        ),
        ("003_산업통상부_c.md", "봄철 산불 예방", "산림 보호"),
    ] {
        std::fs::write(
            archive.join(file),
            format!("---\ntitle: \"{title}\"\nministry: \"과학기술정보통신부\"\n---\n\n# {title}\n\n## 본문\n\n{body}\n"),
        )
        .unwrap();
    }
    let topic = |keywords: &str| {
        format!("[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [{keywords}]\n")
    };
    let old = write_config(dir.path(), &topic("\"NPU\""));
    let new = dir.path().join("new.toml");
    std::fs::write(&new, topic("\"AI 표준*\"")).unwrap();
    let out = command(&[
        "vocab",
        "-c",
        new.to_str().unwrap(),
        dir.path().join("archive").to_str().unwrap(),
        "--against",
        old.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("3 releases read. Matched: 1 with this config, 1 with"),
        "{stdout}"
    );
    assert!(stdout.contains("2 releases change topics"), "{stdout}");
    let line = |title: &str| {
        stdout
            .lines()
            .find(|l| l.contains(title))
            .map(str::trim)
            .map(str::to_owned)
    };
    assert!(
        line("인공지능(AI) 표준화 전략").is_some_and(|l| l.starts_with("+t ")),
        "{stdout}"
    );
    assert!(
        line("국산 NPU 실증").is_some_and(|l| l.starts_with("-t ")),
        "{stdout}"
    );
    assert!(line("산불").is_none(), "{stdout}");
    // A bad OTHER.toml is a config error.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[topic]]\nid = 3\n").unwrap();
    let out = command(&[
        "vocab",
        "-c",
        new.to_str().unwrap(),
        dir.path().to_str().unwrap(),
        "--against",
        bad.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("bad.toml:2:"),
        "{}",
        text(&out.stderr)
    );
}
