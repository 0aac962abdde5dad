//! `[[source]]`: kinds, list selectors, identities and patterns.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

use super::de::*;
use super::*;

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

pub(super) fn default_max_pages() -> usize {
    1
}
pub(super) fn default_page_param() -> String {
    "pageIndex".to_owned()
}

pub(super) fn de_hold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let hold = de_duration(d)?;
    if hold > Duration::from_secs(6 * 3600) {
        return Err(serde::de::Error::custom(format!(
            "hold {} is too long; a notice must not wait more than \"6h\" (a poll interval or two of the other sources is enough, e.g. \"20m\")",
            humantime::format_duration(hold)
        )));
    }
    Ok((!hold.is_zero()).then_some(hold))
}

pub(super) fn de_max_pages<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
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

pub(super) fn default_interval() -> Duration {
    Duration::from_secs(600)
}
pub(super) fn default_alert_after() -> Duration {
    Duration::from_secs(3 * 24 * 3600)
}

pub(super) fn default_true() -> bool {
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

impl SourceConfig {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}
