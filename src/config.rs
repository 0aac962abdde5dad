//! The configuration file: TOML, validated completely before anything runs.
//!
//! Every error names `file:line:column`, says what is wrong and how to fix it, because the person
//! reading it is usually an operator looking at `journalctl` after a `systemctl reload`. Most checks
//! run *inside* deserialisation (custom `deserialize_with` functions), so the TOML parser attaches
//! the span of the offending value for free; the few cross-field checks (duplicate ids, fields that
//! only make sense for one source kind) keep a [`toml::Spanned`] of the value they point at.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

/// Shortest allowed poll interval. Ministries publish a handful of items a day; polling faster
/// only burdens their servers (and MSIT takes seconds to answer).
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// Shortest allowed `store.keep_seen`: the cross-source and same-title checks look back this
/// far, and a release that drops off a list and comes back within days must not be new again.
pub const MIN_KEEP_SEEN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where `--config` points when not given and `config/policy-watch.toml` does not exist in the
/// current directory (that is, outside a checkout of the repository).
pub const SYSTEM_CONFIG_PATH: &str = "/etc/policy-watch/config.toml";

/// The shipped example config, used by default when running from the repository.
pub const REPO_CONFIG_PATH: &str = "config/policy-watch.toml";

/// A configuration error, located in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path}: cannot read the config file: {source}; check the --config path and its permissions"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A validated configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub telegram: TelegramConfig,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub classify: ClassifyConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub bot: BotConfig,
    #[serde(default, rename = "topic")]
    pub topics: Vec<TopicConfig>,
    /// The default poll schedule of every source without its own (`[source.schedule]`); without
    /// either, a source polls every `interval`.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
}

/// When a source is polled (see `sources::schedule`): every `busy_interval` in the busy hours of
/// weekdays (KST), every `quiet_interval` otherwise, and with `on_the_hour` also 30 s after each
/// full hour of the busy hours.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawSchedule")]
pub struct ScheduleConfig {
    pub(crate) busy_from: chrono::NaiveTime,
    pub(crate) busy_until: chrono::NaiveTime,
    pub(crate) busy_interval: Duration,
    pub quiet_interval: Duration,
    pub(crate) on_the_hour: bool,
}

/// `[schedule]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    /// `"08:00-19:00"` (KST, weekdays).
    #[serde(default = "default_busy")]
    busy: String,
    #[serde(deserialize_with = "de_interval")]
    busy_interval: Duration,
    #[serde(deserialize_with = "de_interval")]
    quiet_interval: Duration,
    #[serde(default)]
    on_the_hour: bool,
}

fn default_busy() -> String {
    "08:00-19:00".into()
}

impl TryFrom<RawSchedule> for ScheduleConfig {
    type Error = String;

    fn try_from(raw: RawSchedule) -> Result<ScheduleConfig, String> {
        let bad = || {
            format!(
                "busy = {:?} is not a range of KST times; write it like \"08:00-19:00\"",
                raw.busy
            )
        };
        let (from, until) = raw.busy.split_once('-').ok_or_else(bad)?;
        let time =
            |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (busy_from, busy_until) = (time(from)?, time(until)?);
        if busy_until <= busy_from {
            return Err(format!(
                "busy = {:?} ends before it starts; the busy hours are one stretch of a day, like \"08:00-19:00\"",
                raw.busy
            ));
        }
        if raw.busy_interval > raw.quiet_interval {
            return Err(format!(
                "busy_interval {} is longer than quiet_interval {}; the busy hours are when releases appear, poll them at least as often",
                humantime::format_duration(raw.busy_interval),
                humantime::format_duration(raw.quiet_interval)
            ));
        }
        Ok(ScheduleConfig {
            busy_from,
            busy_until,
            busy_interval: raw.busy_interval,
            quiet_interval: raw.quiet_interval,
            on_the_hour: raw.on_the_hour,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory of the sled database. Relative paths resolve against the current directory;
    /// `$STATE_DIRECTORY` (set by systemd's `StateDirectory=`) takes precedence.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// sled's page cache. sled defaults to 1 GiB, far more than a few thousand keys need.
    #[serde(default = "default_cache", deserialize_with = "de_size")]
    pub cache_size: u64,
    /// Seen keys their source has not listed for this long are pruned (what a source still
    /// lists is never pruned). At least [`MIN_KEEP_SEEN`].
    #[serde(default = "default_keep_seen", deserialize_with = "de_keep_seen")]
    pub keep_seen: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            cache_size: default_cache(),
            keep_seen: default_keep_seen(),
        }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("/var/lib/policy-watch")
}
fn default_cache() -> u64 {
    8 * 1024 * 1024
}
fn default_keep_seen() -> Duration {
    Duration::from_secs(365 * 24 * 3600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_connect_timeout", deserialize_with = "de_duration")]
    pub(crate) connect_timeout: Duration,
    /// Whole-request timeout. MSIT's feed takes ~7 s to the first byte, so keep this ≥ 30 s.
    #[serde(default = "default_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    #[serde(default = "default_max_body", deserialize_with = "de_size")]
    pub max_body: u64,
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    #[serde(default = "default_user_agent")]
    pub(crate) user_agent: String,
    /// Upper bound of the exponential backoff after failures; a source is never given up on.
    #[serde(default = "default_max_backoff", deserialize_with = "de_duration")]
    pub(crate) max_backoff: Duration,
    /// Requests in flight to one host at most (sources on the same ministry server wait their
    /// turn instead of hitting it all at once).
    #[serde(default = "default_max_per_host")]
    pub(crate) max_per_host: std::num::NonZeroUsize,
    /// Proxy for every source (`http://`, `https://`, `socks5://`, `socks5h://`; credentials in
    /// the URL are never logged). A source's own `proxy` wins.
    #[serde(default)]
    pub proxy: Option<ProxyUrl>,
}

/// A proxy URL. Its password never appears in logs, errors or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(Url);

impl ProxyUrl {
    /// The URL with its credentials, for the HTTP client only.
    pub(crate) fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        write!(f, "{shown}")
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let url = Url::parse(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid proxy URL: {e}; write it like \"http://proxy.example:3128\" or \"socks5://user:password@127.0.0.1:1080\""
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") || url.host().is_none()
        {
            return Err(serde::de::Error::custom(format!(
                "proxy scheme {:?} is not supported; use http://, https://, socks5:// or socks5h:// with a host",
                url.scheme()
            )));
        }
        // Masked wherever it could show (log lines, error texts), as the bot token is: the
        // credentials as the URL writes them and decoded, alone and with the user name (a short
        // password is masked as part of the longer form).
        if let Some(password) = url.password() {
            let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
            for secret in [password, decoded.as_ref()] {
                crate::secret::register(secret);
                crate::secret::register(&format!("{}:{secret}", url.username()));
            }
        }
        Ok(ProxyUrl(url))
    }
}

fn default_max_per_host() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(4).expect("non-zero")
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: default_connect_timeout(),
            timeout: default_timeout(),
            max_body: default_max_body(),
            max_redirects: default_max_redirects(),
            user_agent: default_user_agent(),
            max_backoff: default_max_backoff(),
            max_per_host: default_max_per_host(),
            proxy: None,
        }
    }
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_body() -> u64 {
    10 * 1024 * 1024
}
fn default_max_redirects() -> usize {
    5
}
fn default_user_agent() -> String {
    format!(
        "policy-watch/{} (Korean AI-semiconductor policy monitor; polls politely)",
        env!("CARGO_PKG_VERSION")
    )
}
fn default_max_backoff() -> Duration {
    Duration::from_secs(6 * 3600)
}

/// Telegram settings. The token is never read from this file (see `token_file`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Bot API base URL; a self-hosted telegram-bot-api server works too.
    #[serde(default, deserialize_with = "de_opt_http_url")]
    pub api_url: Option<Url>,
    /// File holding the bot token (one line). `TELOXIDE_TOKEN` and
    /// `$CREDENTIALS_DIRECTORY/telegram-token` are also read.
    #[serde(default)]
    pub token_file: Option<Spanned<PathBuf>>,
    /// Telegram user ids that receive operator alerts (and may use admin commands).
    #[serde(default, deserialize_with = "de_admins")]
    pub admins: Vec<i64>,
    /// Show link previews under notices.
    #[serde(default)]
    pub link_preview: bool,
    /// Answer commands (subscriptions by talking to the bot) through getUpdates. Turn off when
    /// another program reads this bot's updates or a webhook is set.
    #[serde(default = "default_true")]
    pub bot: bool,
    #[serde(default)]
    pub limits: TelegramLimits,
    /// Channels and groups that receive notices.
    #[serde(default, rename = "destination")]
    pub destinations: Vec<Spanned<DestinationConfig>>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            api_url: None,
            token_file: None,
            admins: Vec::new(),
            link_preview: false,
            bot: true,
            limits: TelegramLimits::default(),
            destinations: Vec::new(),
        }
    }
}

/// Telegram's sending limits (Bots FAQ). Sends are paced to stay under them, so 429s are rare.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramLimits {
    #[serde(default = "default_global_per_second", deserialize_with = "de_rate")]
    pub global_per_second: u32,
    #[serde(default = "default_group_per_minute", deserialize_with = "de_rate")]
    pub group_per_minute: u32,
    #[serde(default = "default_private_per_second", deserialize_with = "de_rate")]
    pub private_per_second: u32,
}

impl Default for TelegramLimits {
    fn default() -> Self {
        TelegramLimits {
            global_per_second: default_global_per_second(),
            group_per_minute: default_group_per_minute(),
            private_per_second: default_private_per_second(),
        }
    }
}

fn default_global_per_second() -> u32 {
    30
}
fn default_group_per_minute() -> u32 {
    20
}
fn default_private_per_second() -> u32 {
    1
}

/// A channel or group that receives notices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// `@channelname` or a numeric chat id (negative for groups and channels).
    #[serde(deserialize_with = "de_chat")]
    pub chat: String,
    /// Only notices of these topics (default: every topic).
    #[serde(default)]
    pub topics: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed.
    Feed,
    /// An HTML list page read with CSS selectors (for ministries without a usable feed).
    HtmlList,
    /// The policy portal's press-release API (공공데이터포털 "정책브리핑 보도자료"): every
    /// ministry's releases of yesterday and today (KST), filtered by `ministries`; needs a
    /// service key (see `sources::briefing`).
    BriefingApi,
}

impl SourceKind {
    /// The kind as the config writes it.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::HtmlList => "html_list",
            SourceKind::BriefingApi => "briefing_api",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    /// 산업통상부's RSS answers POST only (GET gives 405).
    Post,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Stable identity of the source: its dedup history is keyed by it, so the URL can change
    /// without re-sending anything.
    #[serde(deserialize_with = "de_source_id")]
    pub id: Spanned<String>,
    pub name: String,
    pub ministry: String,
    pub kind: Spanned<SourceKind>,
    #[serde(deserialize_with = "de_http_url")]
    pub url: Url,
    #[serde(default = "default_interval", deserialize_with = "de_interval")]
    pub interval: Duration,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// On the first poll, send the newest N items instead of only recording them as seen.
    #[serde(default)]
    pub backfill: usize,
    /// Tell the admins when the source has failed, or brought nothing new, for this long (and
    /// again when it recovers).
    #[serde(default = "default_alert_after", deserialize_with = "de_duration")]
    pub alert_after: Duration,
    #[serde(default)]
    pub method: HttpMethod,
    /// Form body for POST sources (`application/x-www-form-urlencoded`).
    #[serde(default)]
    pub form: Option<Spanned<BTreeMap<String, String>>>,
    /// CSS selectors, for `kind = "html_list"` only.
    #[serde(default)]
    pub select: Option<Spanned<ListSelectors>>,
    /// Keep only list rows whose text contains one of these (e.g. the ministry's name).
    #[serde(default)]
    pub filter: Option<Spanned<RowFilter>>,
    /// Proxy for this source (overrides `[http] proxy`): e.g. a Korean proxy for korea.kr, which
    /// drops clients from abroad at the TLS handshake.
    #[serde(default)]
    pub proxy: Option<ProxyUrl>,
    /// Hold this source's new notices this long, waiting for the same release from a source
    /// without hold (whose copy is sent instead): for aggregators such as korea.kr, whose copy
    /// has a bracket prefix and no time, while the ministry's own feed has the full text.
    #[serde(default, deserialize_with = "de_hold")]
    pub hold: Option<Duration>,
    /// What identifies a document of this source when its links carry volatile parameters.
    #[serde(default)]
    pub identity: Option<Spanned<Identity>>,
    /// html_list: read further pages (`?pageIndex=2…`) until a row already seen appears, at most
    /// this many pages a poll (1: the first page only).
    #[serde(default = "default_max_pages", deserialize_with = "de_max_pages")]
    pub max_pages: usize,
    /// The query parameter that selects a list page (with `max_pages` > 1).
    #[serde(default = "default_page_param")]
    pub(crate) page_param: String,
    /// When to poll (the config's `[schedule]` when the source has none; without either, every
    /// `interval`). With a schedule, `interval` is not used.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    /// briefing_api: the ministries whose releases to keep (`MinisterCode`, e.g.
    /// "과학기술정보통신부"); empty keeps every ministry's.
    #[serde(default)]
    pub ministries: Vec<String>,
    /// briefing_api: a file holding the service key (also `POLICY_WATCH_SERVICE_KEY`, or the
    /// systemd credential `briefing-service-key`). Never the key itself in the config.
    #[serde(default)]
    pub service_key_file: Option<PathBuf>,
}

fn default_max_pages() -> usize {
    1
}
fn default_page_param() -> String {
    "pageIndex".to_owned()
}

fn de_hold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let hold = de_duration(d)?;
    if hold > Duration::from_secs(6 * 3600) {
        return Err(serde::de::Error::custom(format!(
            "hold {} is too long; a notice must not wait more than \"6h\" (a poll interval or two of the other sources is enough, e.g. \"20m\")",
            humantime::format_duration(hold)
        )));
    }
    Ok((!hold.is_zero()).then_some(hold))
}

fn de_max_pages<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if !(1..=20).contains(&n) {
        return Err(serde::de::Error::custom(format!(
            "max_pages {n} is out of range; use 1 (first page only) to 20"
        )));
    }
    Ok(n)
}

/// How a source's item key is built when its links are not stable identities (korea.kr's links
/// carry the request's dates, which move every day). One of `link_params` or `pattern`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Keep only these query parameters of the link (e.g. `["newsId"]`); the rest (paging, date
    /// ranges, search words) is dropped from the key and from the link shown in notices.
    #[serde(default)]
    pub link_params: Option<Vec<String>>,
    /// A regular expression with one capture group; the captured text is the key.
    #[serde(default)]
    pub pattern: Option<Pattern>,
    /// What `pattern` reads: the item's link (default) or, for list pages, the row's HTML.
    #[serde(default)]
    pub from: IdentityFrom,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityFrom {
    #[default]
    Link,
    Row,
}

/// A compiled regular expression that remembers its source text.
#[derive(Clone)]
pub struct Pattern {
    pub text: String,
    pub regex: regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.text)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let regex = regex::Regex::new(&text).map_err(|e| {
            let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
            serde::de::Error::custom(format!(
                "invalid regular expression {text:?}: {first}; escape backslashes in TOML (\\\\d) or use a literal string ('article\\.view')"
            ))
        })?;
        if regex.captures_len() < 2 {
            return Err(serde::de::Error::custom(format!(
                "the regular expression {text:?} has no capture group; put what identifies the document in parentheses, e.g. \"newsId=(\\\\d+)\""
            )));
        }
        Ok(Pattern { text, regex })
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(600)
}
fn default_alert_after() -> Duration {
    Duration::from_secs(3 * 24 * 3600)
}

fn default_true() -> bool {
    true
}

/// Selectors of an `html_list` source. `item` selects each row; the others are relative to it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSelectors {
    pub item: CssSelector,
    pub title: CssSelector,
    /// Element carrying the `href`; defaults to the title element (or its nearest `a`).
    #[serde(default)]
    pub link: Option<CssSelector>,
    #[serde(default)]
    pub date: Option<CssSelector>,
    #[serde(default)]
    pub summary: Option<CssSelector>,
    /// For links that are only a script call (`javascript:article.view('172070')`, or an
    /// `onclick`): a regular expression read from the link element's `href`, then its
    /// `onclick`; its capture groups fill `link_template`.
    #[serde(default)]
    pub(crate) link_pattern: Option<Pattern>,
    /// The link made from `link_pattern`'s groups: `{1}`, `{2}`…, relative to the page.
    #[serde(default)]
    pub(crate) link_template: Option<Spanned<String>>,
}

/// A row filter: the text of `selector` (or of the whole row) must contain one of `any_of`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowFilter {
    #[serde(default)]
    pub selector: Option<CssSelector>,
    #[serde(deserialize_with = "de_nonempty_strings")]
    pub any_of: Vec<String>,
}

/// A parsed CSS selector that remembers its source text (for messages and `explain`).
#[derive(Clone)]
pub struct CssSelector {
    pub text: String,
    pub selector: scraper::Selector,
}

impl PartialEq for CssSelector {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for CssSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CssSelector({:?})", self.text)
    }
}

impl<'de> Deserialize<'de> for CssSelector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let selector = scraper::Selector::parse(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid CSS selector {text:?}: {}; write a selector such as \"ul.list > li\" or \"td.title a\"",
                describe_selector_error(&e)
            ))
        })?;
        Ok(CssSelector { text, selector })
    }
}

/// What is wrong with a CSS selector, in words (scraper's own text for some errors is
/// "Unexpected error occurred. Please report this to the developer" and a debug dump).
fn describe_selector_error(error: &scraper::error::SelectorErrorKind<'_>) -> String {
    use scraper::error::SelectorErrorKind;
    let SelectorErrorKind::UnexpectedSelectorParseError(kind) = error else {
        return error.to_string();
    };
    let debug = format!("{kind:?}");
    let what = [
        ("ClassNeedsIdent", "a '.' must be followed by a class name"),
        ("EmptySelector", "the selector is empty"),
        (
            "DanglingCombinator",
            "a combinator (>, +, ~) has nothing after it",
        ),
        (
            "NoIdentForPseudo",
            "a ':' must be followed by a pseudo-class name",
        ),
        (
            "UnsupportedPseudo",
            "unsupported pseudo-class or pseudo-element",
        ),
        ("ExpectedBarInAttr", "an [attribute] selector is malformed"),
        (
            "BadValueInAttr",
            "an [attribute] value is malformed (quote it)",
        ),
        ("InvalidQualNameInAttr", "an [attribute] name is malformed"),
        (
            "ExpectedNamespace",
            "an unknown namespace prefix (a stray '|')",
        ),
        ("UnexpectedIdent", "an unexpected name"),
        ("InvalidState", "the selector is not complete"),
    ]
    .iter()
    .find(|(prefix, _)| debug.starts_with(prefix))
    .map_or("it is not a valid CSS selector", |(_, what)| what);
    what.to_owned()
}

/// The optional metrics listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// e.g. "127.0.0.1:9898"; off when absent. Keep it on loopback.
    #[serde(default)]
    pub(crate) listen: Option<std::net::SocketAddr>,
}

/// What subscribers may do through the bot beyond choosing topics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Subscribers may add their own watch words (`/watch`): any new item of any source that
    /// contains one reaches them, whether it matched a topic or not.
    #[serde(default = "default_true")]
    pub watch_words: bool,
    /// Watch words per chat, at most (1–100).
    #[serde(
        default = "default_max_watch_words",
        deserialize_with = "de_max_watch_words"
    )]
    pub max_watch_words: usize,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            watch_words: true,
            max_watch_words: default_max_watch_words(),
        }
    }
}

fn default_max_watch_words() -> usize {
    20
}

fn de_max_watch_words<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = usize::deserialize(d)?;
    if !(1..=100).contains(&n) {
        return Err(serde::de::Error::custom(format!(
            "max_watch_words {n} is out of range; use 1 to 100 (to turn watch words off, set watch_words = false)"
        )));
    }
    Ok(n)
}

/// Logging.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as "info" or "policy_watch=debug"; `RUST_LOG` wins.
    #[serde(default)]
    pub level: Option<String>,
}

/// Global classification settings: defaults for every topic, anchors, global vetoes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// Words that make a topic's `generic` keywords count (e.g. AI, 인공지능, 반도체).
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub anchors: Vec<String>,
    /// Veto every topic when present (personnel notices, trade statistics, tariffs…),
    /// unless the topic also matched one of its `strong` keywords.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub exclude: Vec<String>,
    #[serde(default = "default_title_weight", deserialize_with = "de_weight")]
    pub(crate) title_weight: f32,
    #[serde(default = "default_summary_weight", deserialize_with = "de_weight")]
    pub summary_weight: f32,
    #[serde(default = "default_threshold", deserialize_with = "de_threshold")]
    pub threshold: f32,
    /// The summary's first characters that are its lead: a topic's `strong` keyword there
    /// weighs as in the title (a lead that names "AI반도체" is about it; a body that does is
    /// not yet).
    #[serde(default = "default_lead_chars")]
    pub(crate) lead_chars: usize,
    /// How much of the summary classification reads at all. Some sources send the whole
    /// release as its summary (MSIT's `content:encoded`, korea.kr's list): what is said after
    /// the first paragraphs is background, and passing mentions there are not evidence.
    #[serde(default = "default_summary_chars")]
    pub summary_chars: usize,
    /// Classes of words that mean the same (`["AI", "인공지능", "에이아이"]`, `["펀드", "기금"]`): a
    /// keyword written with one member also matches with every other member in its place, so
    /// `AI 디바이스` finds `인공지능 기기`, and a Korean word written with its loanword in
    /// brackets (`기금(펀드)`) counts either way.
    #[serde(default, deserialize_with = "de_synonyms")]
    pub(crate) synonyms: Vec<Vec<String>>,
    /// Phrases in which an anchor is no anchor: `AI 전환` (AX) and `AI 활용` speak of AI used in
    /// some other field, not of the AI the initiative builds, so a generic word beside them
    /// does not count.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub(crate) not_anchors: Vec<String>,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            anchors: Vec::new(),
            exclude: Vec::new(),
            title_weight: default_title_weight(),
            summary_weight: default_summary_weight(),
            threshold: default_threshold(),
            lead_chars: default_lead_chars(),
            summary_chars: default_summary_chars(),
            synonyms: Vec::new(),
            not_anchors: Vec::new(),
        }
    }
}

fn default_lead_chars() -> usize {
    300
}
fn default_summary_chars() -> usize {
    600
}

fn default_title_weight() -> f32 {
    2.0
}
fn default_summary_weight() -> f32 {
    1.0
}
fn default_threshold() -> f32 {
    2.0
}

/// A topic of the initiative and the rules that decide it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    #[serde(deserialize_with = "de_source_id")]
    pub id: Spanned<String>,
    /// Display name (Korean).
    pub name: String,
    /// Hashtag shown in notices, e.g. `#AI반도체`.
    #[serde(deserialize_with = "de_hashtag")]
    pub hashtag: String,
    /// Each distinct keyword that matches adds the weight of the field it matched in.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub keywords: Vec<String>,
    /// Like keywords, and a match overrides every exclusion (topic and global).
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub strong: Vec<String>,
    /// Count only together with another keyword of this topic or an anchor.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub generic: Vec<String>,
    /// Each group needs at least one match for the topic to match.
    #[serde(default, deserialize_with = "de_keyword_groups")]
    pub require: Vec<Vec<String>>,
    /// Veto this topic, unless a `strong` keyword matched.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub exclude: Vec<String>,
    #[serde(default, deserialize_with = "de_opt_weight")]
    pub(crate) title_weight: Option<f32>,
    #[serde(default, deserialize_with = "de_opt_weight")]
    pub summary_weight: Option<f32>,
    #[serde(default, deserialize_with = "de_opt_threshold")]
    pub threshold: Option<f32>,
}

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::parse(path, &read(path)?)
    }

    /// [`Config::load`] plus [`Config::check_runnable`]: what `check-config`, `run`, `once` and
    /// reloads accept.
    pub fn load_runnable(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let config = Config::parse(path, &text)?;
        config.check_runnable(path, &text)?;
        Ok(config)
    }

    /// Parses and validates config text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let located = |span: Option<Range<usize>>, message: String| {
            invalid(path, text, span.map(|s| s.start).unwrap_or(0), message)
        };
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().replace('\n', " ");
            located(e.span(), message)
        })?;
        // A source without a schedule of its own takes the config's.
        if let Some(schedule) = &config.schedule {
            for source in &mut config.sources {
                source.schedule.get_or_insert_with(|| schedule.clone());
            }
        }
        config
            .validate()
            .map_err(|(span, message)| located(Some(span), message))?;
        Ok(config)
    }

    /// Cross-field checks that serde cannot express. Returns the span to blame.
    fn validate(&self) -> Result<(), (Range<usize>, String)> {
        let mut ids = HashSet::new();
        for source in &self.sources {
            if !ids.insert(source.id.get_ref().as_str()) {
                return Err((
                    source.id.span(),
                    format!(
                        "duplicate source id {:?}; every [[source]] needs its own id (it keys the source's history)",
                        source.id.get_ref()
                    ),
                ));
            }
            match (*source.kind.get_ref(), &source.select) {
                (SourceKind::HtmlList, None) => {
                    return Err((
                        source.kind.span(),
                        format!(
                            "source {:?} is kind = \"html_list\" but has no [source.select] table; add selectors for item and title",
                            source.id.get_ref()
                        ),
                    ));
                }
                (kind @ (SourceKind::Feed | SourceKind::BriefingApi), Some(select)) => {
                    return Err((
                        select.span(),
                        format!(
                            "source {:?} is kind = \"{}\"; [source.select] only applies to kind = \"html_list\": remove it or change the kind",
                            source.id.get_ref(),
                            kind.name()
                        ),
                    ));
                }
                _ => {}
            }
            if let (kind @ (SourceKind::Feed | SourceKind::BriefingApi), Some(filter)) =
                (*source.kind.get_ref(), &source.filter)
            {
                return Err((
                    filter.span(),
                    format!(
                        "source {:?} is kind = \"{}\"; [source.filter] only applies to kind = \"html_list\"{}",
                        source.id.get_ref(),
                        kind.name(),
                        if kind == SourceKind::BriefingApi {
                            " (the API filters by `ministries = [...]`)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if let Some(select) = &source.select {
                let s = select.get_ref();
                match (&s.link_pattern, &s.link_template) {
                    (Some(_), None) | (None, Some(_)) => {
                        return Err((
                            select.span(),
                            format!(
                                "source {:?}: link_pattern and link_template go together (the pattern's groups fill the template); give both or neither",
                                source.id.get_ref()
                            ),
                        ));
                    }
                    (Some(pattern), Some(template)) => {
                        let groups = pattern.regex.captures_len() - 1;
                        if let Some(n) = template_placeholders(template.get_ref())
                            .into_iter()
                            .find(|n| *n == 0 || *n > groups)
                        {
                            return Err((
                                template.span(),
                                format!(
                                    "link_template uses {{{n}}} but link_pattern has {groups} capture group(s); use {{1}} to {{{groups}}}"
                                ),
                            ));
                        }
                    }
                    (None, None) => {}
                }
            }
            if let Some(identity) = &source.identity {
                let i = identity.get_ref();
                let problem = match (&i.link_params, &i.pattern) {
                    (None, None) => Some(
                        "give link_params (the query parameters that identify a document) or a pattern with one capture group",
                    ),
                    (Some(_), Some(_)) => Some("give link_params or pattern, not both"),
                    (Some(p), None) if p.is_empty() || p.iter().any(|s| s.trim().is_empty()) => {
                        Some(
                            "link_params needs at least one non-empty parameter name, e.g. [\"newsId\"]",
                        )
                    }
                    (Some(_), None) if i.from == IdentityFrom::Row => {
                        Some("from = \"row\" applies to pattern only")
                    }
                    (None, Some(_))
                        if i.from == IdentityFrom::Row
                            && *source.kind.get_ref() == SourceKind::Feed =>
                    {
                        Some(
                            "from = \"row\" applies to html_list sources only; feeds use from = \"link\"",
                        )
                    }
                    _ => None,
                };
                if let Some(problem) = problem {
                    return Err((
                        identity.span(),
                        format!(
                            "source {:?}: [source.identity]: {problem}",
                            source.id.get_ref()
                        ),
                    ));
                }
            }
            if source.max_pages > 1 && *source.kind.get_ref() == SourceKind::Feed {
                return Err((
                    source.id.span(),
                    format!(
                        "source {:?} is kind = \"feed\"; max_pages applies to html_list sources only (feeds are read whole)",
                        source.id.get_ref()
                    ),
                ));
            }
            if let (HttpMethod::Get, Some(form)) = (source.method, &source.form) {
                return Err((
                    form.span(),
                    format!(
                        "source {:?} has a form body but method is GET; add method = \"POST\" or remove the form",
                        source.id.get_ref()
                    ),
                ));
            }
        }
        let mut topic_ids = HashSet::new();
        for topic in &self.topics {
            if topic.keywords.is_empty() && topic.strong.is_empty() {
                return Err((
                    topic.id.span(),
                    format!(
                        "topic {:?} has no keywords; give it `keywords` (or `strong`) so that it can ever match",
                        topic.id.get_ref()
                    ),
                ));
            }
            if !topic_ids.insert(topic.id.get_ref().as_str()) {
                return Err((
                    topic.id.span(),
                    format!(
                        "duplicate topic id {:?}; every [[topic]] needs its own id",
                        topic.id.get_ref()
                    ),
                ));
            }
        }
        let excluded: Vec<(String, &str)> = self
            .classify
            .exclude
            .iter()
            .map(|e| (crate::fold::fold_keyword(e), e.as_str()))
            .collect();
        for topic in &self.topics {
            let own: Vec<(String, &str)> = topic
                .exclude
                .iter()
                .map(|e| (crate::fold::fold_keyword(e), e.as_str()))
                .collect();
            for keyword in topic.keywords.iter().chain(&topic.generic) {
                let folded = crate::fold::fold_keyword(keyword);
                let clash = excluded
                    .iter()
                    .map(|(f, e)| (f, e, "a global exclusion ([classify] exclude)"))
                    .chain(
                        own.iter()
                            .map(|(f, e)| (f, e, "an exclusion of the same topic")),
                    )
                    .find(|(f, _, _)| **f == folded);
                if let Some((_, exclusion, what)) = clash {
                    return Err((
                        topic.id.span(),
                        format!(
                            "topic {:?}: keyword {keyword:?} is also {what} ({exclusion:?}), so it can never count; remove one of them, or list it under `strong` (strong keywords override exclusions)",
                            topic.id.get_ref()
                        ),
                    ));
                }
            }
        }
        let mut chats = HashSet::new();
        for spanned in &self.telegram.destinations {
            let destination = spanned.get_ref();
            if !chats.insert(destination.chat.as_str()) {
                return Err((
                    spanned.span(),
                    format!(
                        "telegram destination {} is listed twice; keep one [[telegram.destination]] per chat",
                        destination.chat
                    ),
                ));
            }
            if let Some(topics) = &destination.topics
                && topics.is_empty()
            {
                return Err((
                    spanned.span(),
                    format!(
                        "telegram destination {} has topics = [], so it would never get a notice; remove `topics` to send it every topic, or list some",
                        destination.chat
                    ),
                ));
            }
            for topic in destination.topics.iter().flatten() {
                if !topic_ids.contains(topic.get_ref().as_str()) {
                    let known: Vec<&str> = self.topics.iter().map(|t| t.id()).collect();
                    return Err((
                        topic.span(),
                        format!(
                            "unknown topic {:?} in the filter of telegram destination {}; known topics: {}",
                            topic.get_ref(),
                            destination.chat,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that a valid config can also run: it has topics and enabled sources, and the
    /// token file it names exists. Not part of [`Config::parse`], so that store maintenance and
    /// `explain` work with partial configs; `check-config`, `run`, `once` and reloads call it.
    pub(crate) fn check_runnable(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let located = |offset: usize, message: String| invalid(path, text, offset, message);
        if self.topics.is_empty() {
            return Err(located(
                0,
                "the config has no [[topic]]: no item could ever match; add topics (see the shipped config/policy-watch.toml)".into(),
            ));
        }
        if self.enabled_sources().next().is_none() {
            let at = self.sources.first().map_or(0, |s| s.id.span().start);
            return Err(located(
                at,
                "the config has no enabled [[source]]: nothing would be polled; add a source or set enabled = true".into(),
            ));
        }
        if let Some(file) = &self.telegram.token_file
            && let Err(e) = std::fs::metadata(file.get_ref())
        {
            return Err(located(
                file.span().start,
                format!(
                    "telegram.token_file {}: {e}; create it (one line: the bot token, mode 0600) or remove token_file",
                    file.get_ref().display()
                ),
            ));
        }
        Ok(())
    }

    /// The sources that are switched on.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }

    /// The store directory: `$STATE_DIRECTORY` (systemd) wins over the config.
    pub fn store_dir(&self) -> PathBuf {
        match std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several colon-separated directories; the first is ours.
            Some(dirs) if !dirs.is_empty() => {
                let dirs = dirs.to_string_lossy().into_owned();
                PathBuf::from(dirs.split(':').next().unwrap_or_default())
            }
            _ => self.store.path.clone(),
        }
    }
}

impl SourceConfig {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}

impl TopicConfig {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}

/// The `{n}` placeholders of a link template.
fn template_placeholders(template: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        found.push(rest[..close].trim().parse().unwrap_or(0));
        rest = &rest[close + 1..];
    }
    found
}

/// The default config path: the repository's example when it exists in the current directory,
/// otherwise the system path.
pub fn default_config_path() -> PathBuf {
    let repo = PathBuf::from(REPO_CONFIG_PATH);
    if repo.exists() {
        repo
    } else {
        PathBuf::from(SYSTEM_CONFIG_PATH)
    }
}

/// The config file's text.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// An error located at a byte `offset` of the config `text`.
fn invalid(path: &Path, text: &str, offset: usize, message: String) -> ConfigError {
    let (line, column) = line_column(text, offset);
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?}: {e}; write it like \"30s\", \"10m\", \"6h\" or \"365d\""
        ))
    })
}

fn de_keep_seen<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let keep = de_duration(d)?;
    if keep < MIN_KEEP_SEEN {
        return Err(serde::de::Error::custom(format!(
            "keep_seen {} is below the minimum of 7d; use \"7d\" or more (\"365d\" is the default): items forgotten sooner can come back as new when a source lists them again",
            humantime::format_duration(keep)
        )));
    }
    Ok(keep)
}

fn de_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let interval = de_duration(d)?;
    if interval < MIN_INTERVAL {
        return Err(serde::de::Error::custom(format!(
            "interval {} is below the minimum of {}; use \"1m\" or more (ministry servers are slow and publish a few items a day)",
            humantime::format_duration(interval),
            humantime::format_duration(MIN_INTERVAL)
        )));
    }
    Ok(interval)
}

fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let text = String::deserialize(d)?;
    bytesize::ByteSize::from_str(&text)
        .map(|b| b.as_u64())
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid size {text:?}: {e}; write it like \"16MiB\" or \"10 MiB\""
            ))
        })
}

fn parse_http_url<E: serde::de::Error>(text: &str) -> Result<Url, E> {
    let url = Url::parse(text).map_err(|e| {
        E::custom(format!(
            "invalid URL {text:?}: {e}; write an absolute URL such as \"https://www.msit.go.kr/...\""
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(E::custom(format!(
            "URL {text:?} is not an http(s) URL with a host; only http:// and https:// are supported"
        )));
    }
    Ok(url)
}

fn de_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let text = String::deserialize(d)?;
    parse_http_url(&text)
}

fn de_opt_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let text = String::deserialize(d)?;
    parse_http_url(&text).map(Some)
}

fn de_source_id<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<String>, D::Error> {
    let id = Spanned::<String>::deserialize(d)?;
    let ok = !id.get_ref().is_empty()
        && id.get_ref().len() <= 64
        && id
            .get_ref()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok {
        return Err(serde::de::Error::custom(format!(
            "invalid id {:?}; use 1-64 characters of a-z, 0-9, '-' and '_' (e.g. \"msit-press\")",
            id.get_ref()
        )));
    }
    Ok(id)
}

fn de_hashtag<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let tag = String::deserialize(d)?;
    let body = tag.strip_prefix('#').unwrap_or(&tag);
    // Telegram hashtags end at the first character that is not a letter, digit or '_'.
    if body.is_empty() || !body.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(serde::de::Error::custom(format!(
            "invalid hashtag {tag:?}; use letters, digits and '_' only, e.g. \"#AI반도체\" (spaces and '·' break Telegram hashtags)"
        )));
    }
    Ok(format!("#{body}"))
}

fn de_rate<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let rate = u32::deserialize(d)?;
    if rate == 0 || rate > 10_000 {
        return Err(serde::de::Error::custom(format!(
            "rate {rate} is out of range; use 1 to 10000 messages"
        )));
    }
    Ok(rate)
}

/// A chat: `@username` (5-32 letters, digits, `_`) or a numeric id, given as a string or number.
fn de_chat<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Chat {
        Id(i64),
        Name(String),
    }
    let chat = match Chat::deserialize(d)? {
        Chat::Id(id) => id.to_string(),
        Chat::Name(name) => name.trim().to_owned(),
    };
    let valid_name = chat.strip_prefix('@').is_some_and(|n| {
        (5..=32).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if !valid_name && chat.parse::<i64>().is_err() {
        return Err(serde::de::Error::custom(format!(
            "invalid chat {chat:?}; use \"@channelname\" or a numeric chat id such as -1001234567890"
        )));
    }
    Ok(chat)
}

/// Admins are numeric user ids: Telegram's updates carry the sender's id, not a username.
fn de_admins<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Admin {
        Id(i64),
        Text(String),
    }
    Vec::<Admin>::deserialize(d)?
        .into_iter()
        .map(|admin| match admin {
            Admin::Id(id) if id > 0 => Ok(id),
            Admin::Id(id) => Err(serde::de::Error::custom(format!(
                "admin {id} is not a user id; admins are people's numeric Telegram user ids (positive), not chats"
            ))),
            Admin::Text(text) => match text.trim().parse::<i64>() {
                Ok(id) if id > 0 => Ok(id),
                _ => Err(serde::de::Error::custom(format!(
                    "admin {text:?} is not a numeric user id; write the number Telegram shows for the person (a bot such as @userinfobot tells it), e.g. admins = [123456789]"
                ))),
            },
        })
        .collect()
}

fn de_nonempty_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if list.is_empty() {
        return Err(serde::de::Error::custom(
            "the list is empty; give at least one string",
        ));
    }
    if let Some(pos) = list.iter().position(|s| s.trim().is_empty()) {
        return Err(serde::de::Error::custom(format!(
            "entry {} of the list is empty; remove it",
            pos + 1
        )));
    }
    Ok(list)
}

/// A keyword must keep something to match after spacing and punctuation are ignored.
fn check_keyword<E: serde::de::Error>(keyword: &str) -> Result<(), E> {
    if crate::fold::fold_keyword(keyword).is_empty() {
        return Err(E::custom(format!(
            "keyword {keyword:?} is empty once spacing and punctuation are ignored; remove it"
        )));
    }
    Ok(())
}

fn de_keyword_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    for keyword in &list {
        check_keyword(keyword)?;
    }
    Ok(list)
}

fn de_keyword_groups<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<String>>, D::Error> {
    let groups = Vec::<Vec<String>>::deserialize(d)?;
    for (i, group) in groups.iter().enumerate() {
        if group.is_empty() {
            return Err(serde::de::Error::custom(format!(
                "require group {} is empty; every group needs at least one keyword",
                i + 1
            )));
        }
        for keyword in group {
            check_keyword(keyword)?;
        }
    }
    Ok(groups)
}

fn de_synonyms<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<String>>, D::Error> {
    let classes = Vec::<Vec<String>>::deserialize(d)?;
    for (i, class) in classes.iter().enumerate() {
        if class.len() < 2 {
            return Err(serde::de::Error::custom(format!(
                "synonym class {} has {} word(s); a class lists at least two words that mean the same",
                i + 1,
                class.len()
            )));
        }
        for word in class {
            check_keyword(word)?;
        }
    }
    Ok(classes)
}

fn de_weight<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let w = f64::deserialize(d)?;
    if !(0.0..=100.0).contains(&w) {
        return Err(serde::de::Error::custom(format!(
            "weight {w} is out of range; use a number from 0 to 100"
        )));
    }
    Ok(w as f32)
}

fn de_opt_weight<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    de_weight(d).map(Some)
}

fn de_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let t = f64::deserialize(d)?;
    if !(t > 0.0 && t <= 1000.0) {
        return Err(serde::de::Error::custom(format!(
            "threshold {t} is out of range; use a positive number (e.g. 2.0: one title keyword)"
        )));
    }
    Ok(t as f32)
}

fn de_opt_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    de_threshold(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(Path::new("t.toml"), text)
            .unwrap_err()
            .to_string()
    }

    const SOURCE: &str = r#"
[[source]]
id = "msit"
name = "과기정통부"
ministry = "과학기술정보통신부"
kind = "feed"
url = "https://example.org/rss"
"#;

    #[test]
    fn minimal_config_parses() {
        let config = Config::parse(Path::new("t.toml"), SOURCE).unwrap();
        assert_eq!(config.sources.len(), 1);
        assert_eq!(config.sources[0].interval, Duration::from_secs(600));
        assert_eq!(config.store.cache_size, 8 * 1024 * 1024);
    }

    #[test]
    fn watch_word_settings_default_on_and_bad_limits_are_located() {
        let config = Config::parse(Path::new("t.toml"), SOURCE).unwrap();
        assert!(config.bot.watch_words);
        assert_eq!(config.bot.max_watch_words, 20);
        let e = err(&format!("[bot]\nmax_watch_words = 0\n{SOURCE}"));
        assert!(e.starts_with("t.toml:2:19: "), "{e}");
        assert!(e.contains("watch_words = false"), "{e}");
    }

    #[test]
    fn unknown_key_is_located() {
        let text = format!("{SOURCE}intervall = \"10m\"\n");
        let e = err(&text);
        assert!(e.starts_with("t.toml:8:1: "), "{e}");
        assert!(e.contains("intervall"), "{e}");
    }

    #[test]
    fn short_interval_is_located_on_its_value() {
        let text = format!("{SOURCE}interval = \"30s\"\n");
        let e = err(&text);
        assert!(e.starts_with("t.toml:8:12: "), "{e}");
        assert!(e.contains("minimum"), "{e}");
    }

    #[test]
    fn duplicate_id_points_at_the_second() {
        let text = format!("{SOURCE}{SOURCE}");
        let e = err(&text);
        assert!(e.starts_with("t.toml:10:6: "), "{e}");
        assert!(e.contains("duplicate source id"), "{e}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        assert_eq!(line_column("가나다 = x", 10), (1, 5));
    }
}
