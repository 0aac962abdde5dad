//! Shared test support: the fixture feed server, a config builder and a captured-output run.
#![allow(dead_code)]

pub mod feeds;
pub mod process;
pub mod telegram;
pub mod telegram_html;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use policy_watch::config::Config;
use policy_watch::printer::Printer;
use policy_watch::store::Store;
use policy_watch::{Mode, Output, RunReport};
use tokio_util::sync::CancellationToken;

/// Topics for pipeline tests (the shipped topics have their own tests).
pub const TEST_TOPICS: &str = r##"
[[topic]]
id = "chips"
name = "AI반도체"
hashtag = "#AI반도체"
keywords = ["AI반도체", "인공지능 반도체", "NPU", "AI칩", "반도체 생태계 펀드", "반도체특별법", "GPU", "인공지능 인재", "기본법", "HPC", "데이터센터"]
"##;

/// A `Write` into shared memory, to capture what the dry-run sink prints.
#[derive(Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// One `[[source]]` table.
pub fn feed_source(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[source]]\nid = \"{id}\"\nname = \"{id} 보도자료\"\nministry = \"시험부\"\nkind = \"feed\"\nurl = \"{url}\"\n{extra}\n"
    )
}

/// A full config: short HTTP timeouts, the test topics, the given sources.
pub fn config_text(sources: &str) -> String {
    format!(
        "[http]\ntimeout = \"2s\"\nconnect_timeout = \"1s\"\nmax_body = \"1MiB\"\n\n{sources}\n{TEST_TOPICS}"
    )
}

pub fn parse_config(text: &str) -> Config {
    Config::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Writes `text` as `dir/policy-watch.toml` and returns its path: the config file of a test that
/// runs the binary or the daemon (and rewrites it for reloads).
pub fn config_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("policy-watch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A store directory that lives as long as the test.
pub struct StateDir {
    pub dir: tempfile::TempDir,
}

impl StateDir {
    pub fn new() -> StateDir {
        StateDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    /// Opens the store. sled releases its directory lock from a background thread after the
    /// last handle is dropped, so a test that reopens right after a run may briefly find it
    /// still held: retry for a moment (between processes the lock goes with the process).
    pub fn open(&self) -> Store {
        let started = std::time::Instant::now();
        loop {
            match Store::open(&self.path(), 4 * 1024 * 1024) {
                Ok(store) => return store,
                Err(policy_watch::store::StoreError::Locked { .. })
                    if started.elapsed() < std::time::Duration::from_secs(5) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("cannot open the test store: {e}"),
            }
        }
    }
}

/// Runs one cycle (`policy-watch once --dry-run`) and returns the report and what was printed.
pub async fn once(config_text: &str, state: &StateDir) -> (RunReport, String) {
    let config = policy_watch::fixed(parse_config(config_text));
    let store = state.open();
    let buf = SharedBuf::default();
    let output = Output::dry_run(Printer::new(Box::new(buf.clone())));
    let report = policy_watch::run(config, store, output, Mode::Once, CancellationToken::new())
        .await
        .expect("run once");
    (report, buf.text())
}

/// Delivered notices (not the baseline previews) in printed output: their title lines.
pub fn sent_titles(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("■ "))
        .map(str::to_owned)
        .collect()
}

/// Baseline previews (shown, not sent).
pub fn previewed_titles(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("[baseline, not sent] ■ "))
        .map(str::to_owned)
        .collect()
}

/// Runs one cycle delivering to Telegram (the fake server) instead of stdout.
pub async fn once_telegram(config_text: &str, state: &StateDir) -> RunReport {
    let config = parse_config(config_text);
    let output = Output::telegram(
        fake_telegram_sink(&config),
        Printer::new(Box::new(SharedBuf::default())),
    );
    policy_watch::run(
        policy_watch::fixed(config),
        state.open(),
        output,
        Mode::Once,
        CancellationToken::new(),
    )
    .await
    .expect("run once")
}

/// A `[telegram]` section pointing at the fake server, with test limits and destinations.
pub fn telegram_section(
    server: &telegram::TelegramServer,
    limits: telegram::Limits,
    destinations: &str,
) -> String {
    format!(
        "[telegram]\napi_url = \"{}\"\nadmins = [777]\n[telegram.limits]\nglobal_per_second = {}\ngroup_per_minute = {}\nprivate_per_second = {}\n{destinations}\n",
        server.url(),
        limits.global_per_second,
        limits.group_per_minute,
        limits.private_per_second
    )
}

/// One `[[telegram.destination]]`.
pub fn destination(chat: &str, topics: Option<&[&str]>) -> String {
    let topics = topics
        .map(|t| {
            format!(
                "topics = [{}]\n",
                t.iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .unwrap_or_default();
    format!("[[telegram.destination]]\nchat = {chat:?}\n{topics}")
}

/// An RSS 2.0 feed of (guid, title) items, newest first, dated a minute apart from
/// 2026-11-25 10:00 KST backwards; links are `https://f.example/<guid>`.
pub fn rss_feed<G: AsRef<str>, T: AsRef<str>>(items: &[(G, T)]) -> Vec<u8> {
    use chrono::TimeZone;
    let newest = policy_watch::items::kst()
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .unwrap();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>t</title><link>https://f.example/</link><description>d</description>\n",
    );
    for (i, (guid, title)) in items.iter().enumerate() {
        let (guid, title) = (guid.as_ref(), title.as_ref());
        let date = (newest - chrono::Duration::minutes(i as i64)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title><![CDATA[{title}]]></title><link>https://f.example/{guid}</link><guid>{guid}</guid><pubDate>{date}</pubDate></item>\n"
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml.into_bytes()
}

/// An RSS 2.0 feed of (guid, title, minutes after 2026-11-25 10:00 KST) items, in the given
/// order: for feeds whose items keep their dates as new ones are published above them.
pub fn rss_feed_dated(items: &[(String, String, i64)]) -> Vec<u8> {
    use chrono::TimeZone;
    let base = policy_watch::items::kst()
        .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
        .unwrap();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>t</title><link>https://f.example/</link><description>d</description>\n",
    );
    for (guid, title, minutes) in items {
        let date = (base + chrono::Duration::minutes(*minutes)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title><![CDATA[{title}]]></title><link>https://f.example/{guid}</link><guid>{guid}</guid><pubDate>{date}</pubDate></item>\n"
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml.into_bytes()
}

/// An RSS 2.0 feed of undated (guid, link, title) items in the given order: for items whose
/// links must point somewhere real (a view page on the test server).
pub fn rss_feed_linked<G: AsRef<str>, L: AsRef<str>, T: AsRef<str>>(
    items: &[(G, L, T)],
) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title><link>http://x/</link><description>d</description>",
    );
    for (guid, link, title) in items {
        let (guid, link, title) = (guid.as_ref(), link.as_ref(), title.as_ref());
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><guid>{guid}</guid></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml.into_bytes()
}

/// Title of the n-th numbered notice.
pub fn numbered_title(n: usize) -> String {
    format!("AI반도체 소식 {n:03}")
}

/// A feed of `n` numbered on-topic items, newest (n) first.
pub fn numbered_feed(n: usize) -> Vec<u8> {
    let items: Vec<(String, String)> = (1..=n)
        .rev()
        .map(|i| (format!("n{i}"), numbered_title(i)))
        .collect();
    rss_feed(&items)
}

/// The numbers of the numbered notices a chat received, in arrival order.
pub fn received_numbers(server: &telegram::TelegramServer, chat: &str) -> Vec<usize> {
    server
        .sent_to(chat)
        .iter()
        .filter_map(|s| {
            let at = s.visible.find("AI반도체 소식 ")? + "AI반도체 소식 ".len();
            s.visible.get(at..at + 3)?.parse().ok()
        })
        .collect()
}

/// The pipeline running as a daemon in this test's runtime, delivering to the fake Telegram
/// server, with `/reload` (and the test) able to re-read the config file.
pub struct Daemon {
    /// The daemon's store (sled allows one opener per process: read it through this handle).
    pub store: Store,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<RunReport>>,
}

impl Daemon {
    /// Starts `policy-watch run` in-process on the config at `path`. `tweak` may change the
    /// parsed config (tests poll every few hundred milliseconds, below the 1 minute minimum
    /// that the config file enforces).
    pub fn start(path: &Path, state: &StateDir, tweak: impl Fn(&mut Config)) -> Daemon {
        let mut config = Config::load(path).unwrap_or_else(|e| panic!("{e}"));
        tweak(&mut config);
        let sink = fake_telegram_sink(&config);
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(config));
        let reloader = policy_watch::reload::Reloader::new(path.to_owned(), tx);
        let output = Output::telegram(sink, Printer::new(Box::new(SharedBuf::default())))
            .with_reloader(reloader);
        let shutdown = CancellationToken::new();
        let store = state.open();
        let handle = tokio::spawn(policy_watch::run(
            rx,
            store.clone(),
            output,
            Mode::Daemon,
            shutdown.clone(),
        ));
        Daemon {
            store,
            shutdown,
            handle,
        }
    }

    /// Shuts down (as on SIGTERM) and returns the run's report.
    pub async fn stop(self) -> RunReport {
        self.shutdown.cancel();
        self.handle.await.unwrap().expect("the daemon ran")
    }
}

/// Sets every source's poll interval (below the config file's minimum, for tests).
pub fn poll_every(interval: std::time::Duration) -> impl Fn(&mut Config) {
    move |config: &mut Config| {
        for source in &mut config.sources {
            source.interval = interval;
            source.schedule = None;
        }
    }
}

/// Waits until `found` returns something, failing the test after 15 s.
pub async fn eventually<T>(what: &str, found: impl FnMut() -> Option<T>) -> T {
    eventually_within(what, std::time::Duration::from_secs(15), found).await
}

/// Waits until `found` returns something, failing the test after `limit`.
pub async fn eventually_within<T>(
    what: &str,
    limit: std::time::Duration,
    mut found: impl FnMut() -> Option<T>,
) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A Telegram client with the fake server's token, pointed at `config.telegram.api_url`.
pub fn fake_telegram_sink(config: &Config) -> policy_watch::deliver::TelegramSink {
    let token = policy_watch::secret::BotToken::new(telegram::TOKEN);
    policy_watch::deliver::TelegramSink::new(&token, config.telegram.api_url.as_ref(), false)
        .unwrap()
}
