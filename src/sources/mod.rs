//! Sources: fetch (HTTP), decode (charsets), parse (feeds and list pages) and the per-source
//! [`Poller`] that schedules it all with jitter and backoff.

pub(crate) mod briefing;
pub(crate) mod decode;
mod feed;
mod fetch;
mod html_list;
mod poller;
pub mod schedule;
mod scheduler;

pub use briefing::KEY_ENV as BRIEFING_KEY_ENV;
pub use feed::parse as parse_feed;
pub use html_list::parse as parse_list;

use std::sync::Arc;

pub use fetch::{FetchError, Fetched, Fetcher, Validators};
pub use poller::{PollEvent, PollOutcome, Poller};
pub use scheduler::Scheduler;

use crate::config::{SourceConfig, SourceKind};
use crate::items::Item;

/// Whether to keep polling or do one cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll every source on its schedule until shut down.
    Daemon,
    /// Poll every enabled source once, deliver everything pending, return.
    Once,
}

/// Why a response could not be turned into items.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    NotAFeed(String),
    #[error(
        "the page has no rows matching the item selector {0:?} (source returned 0 items): the layout probably changed; update [source.select]"
    )]
    NoRows(String),
    #[error(
        "none of the {rows} rows has a title matching the title selector {selector:?} (source returned 0 items): the layout probably changed; update [source.select] title"
    )]
    NoTitles { rows: usize, selector: String },
}

/// What a parse saw besides the items: the ingest stage warns about rows it could not read,
/// and `check-sources` prints it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Rows (list pages) or entries (feeds) found.
    pub rows: usize,
    /// Rows the source's filter left out (normal).
    pub filtered: usize,
    /// Rows whose title selector matched nothing (or empty text).
    pub(crate) untitled: usize,
    /// Items without a usable link.
    pub(crate) unlinked: usize,
    /// Items whose `[source.identity]` could not be read (default key kept).
    pub(crate) unidentified: usize,
}

/// Items and what the parse saw.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub items: Vec<Item>,
    pub stats: ParseStats,
}

impl ParseStats {
    /// A warning about rows that could not be read, naming the selectors to check.
    pub fn problems(&self, source: &SourceConfig) -> Option<String> {
        let select = source.select.as_ref().map(|s| s.get_ref());
        let mut parts = Vec::new();
        if self.untitled > 0 {
            parts.push(format!(
                "{} of {} rows have no title (selector {:?})",
                self.untitled,
                self.rows,
                select.map_or("", |s| s.title.text.as_str())
            ));
        }
        if self.unlinked > 0 {
            let what = match select {
                Some(s) => match (&s.link, &s.link_pattern) {
                    (_, Some(p)) => format!("link_pattern {:?}", p.text),
                    (Some(l), None) => format!("link selector {:?}", l.text),
                    (None, None) => "no link selector: the title's link".to_owned(),
                },
                None => "the feed's <link>".to_owned(),
            };
            parts.push(format!("{} items have no link ({what})", self.unlinked));
        }
        if self.unidentified > 0 {
            parts.push(format!(
                "{} items do not match [source.identity] (default keys used)",
                self.unidentified
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Everything that can go wrong polling a source. Never fatal: the poller backs off and retries.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// Turns a fetched body into items according to the source's kind. CPU-bound (HTML and XML
/// parsing of up to megabytes), so callers run it on the blocking pool.
pub fn parse_body(source: &SourceConfig, body: &fetch::Body) -> Result<Parsed, ParseError> {
    let content_type = body.content_type.as_deref();
    let identity = source.identity.as_ref().map(|i| i.get_ref());
    match source.kind.get_ref() {
        SourceKind::Feed => {
            let mut items = feed::parse(&body.bytes, content_type, &body.final_url)?;
            let mut stats = ParseStats {
                rows: items.len(),
                ..ParseStats::default()
            };
            for item in &mut items {
                if item.link.is_none() {
                    stats.unlinked += 1;
                }
                if let Some(identity) = identity
                    && !crate::items::apply_identity(item, identity, None)
                {
                    stats.unidentified += 1;
                }
            }
            Ok(Parsed { items, stats })
        }
        SourceKind::BriefingApi => briefing::parse(&body.bytes, &source.ministries),
        SourceKind::HtmlList => {
            let select = source
                .select
                .as_ref()
                .expect("config validation guarantees selectors for html_list");
            html_list::parse(
                &body.bytes,
                content_type,
                &body.final_url,
                select.get_ref(),
                source.filter.as_ref().map(|f| f.get_ref()),
                identity,
            )
        }
    }
}

/// Fingerprints of a source's settings, `fetch:parse`. Any change forgets the source's
/// validators (an ETag of the old URL means nothing at the new one; new selectors on an
/// unchanged page must be read). A change of the parse half — kind, selectors, filter,
/// identity, paging — also re-baselines the source (see the ingest stage): items whose keys
/// changed must not go out as new. A new URL alone does not: the source keeps its history, and
/// a release whose link changed with the URL is caught by its title.
pub fn settings_fingerprint(source: &SourceConfig) -> String {
    use std::fmt::Write;
    let mut fetch = format!("{}\0{:?}\0", source.url, source.method);
    if let Some(form) = &source.form {
        for (k, v) in form.get_ref() {
            let _ = write!(fetch, "{k}={v}\0");
        }
    }
    let mut text = format!("{:?}\0", source.kind.get_ref());
    if let Some(select) = &source.select {
        let s = select.get_ref();
        for selector in [
            Some(&s.item),
            Some(&s.title),
            s.link.as_ref(),
            s.date.as_ref(),
            s.summary.as_ref(),
        ] {
            let _ = write!(text, "{}\0", selector.map_or("", |c| c.text.as_str()));
        }
        let _ = write!(
            text,
            "{}\0{}\0",
            s.link_pattern.as_ref().map_or("", |p| p.text.as_str()),
            s.link_template
                .as_ref()
                .map_or("", |t| t.get_ref().as_str())
        );
    }
    if let Some(filter) = &source.filter {
        let f = filter.get_ref();
        let _ = write!(
            text,
            "{}\0{}\0",
            f.selector.as_ref().map_or("", |c| c.text.as_str()),
            f.any_of.join("\x1f")
        );
    }
    if let Some(identity) = &source.identity {
        let i = identity.get_ref();
        let _ = write!(
            text,
            "{}\0{}\0{:?}\0",
            i.link_params.as_deref().unwrap_or_default().join("\x1f"),
            i.pattern.as_ref().map_or("", |p| p.text.as_str()),
            i.from
        );
    }
    let _ = write!(text, "{}\0{}", source.max_pages, source.page_param);
    if !source.ministries.is_empty() {
        let _ = write!(text, "\0{}", source.ministries.join("\x1f"));
    }
    format!(
        "{}:{}",
        short_hex(&[fetch.as_bytes()]),
        short_hex(&[text.as_bytes()])
    )
}

/// Whether two settings fingerprints differ in how items are read (their parse halves).
pub fn parse_settings_changed(old: &str, new: &str) -> bool {
    old.rsplit(':').next() != new.rsplit(':').next()
}

/// A short, stable fingerprint of a response body and of how it is parsed: new settings make
/// the same page worth parsing again. XXH3-128, not a cryptographic hash: "the body did not
/// change" is no security boundary (a server that wants to be re-read only has to change a
/// byte), and SHA-256 of every body was 14 % of a first cycle's CPU. Prefixed with the
/// algorithm, so a hash of another kind (an older store's SHA-256) simply differs once.
fn body_hash(source: &SourceConfig, bytes: &[u8]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(settings_fingerprint(source).as_bytes());
    hasher.update(&[0xff]);
    hasher.update(bytes);
    format!("xxh3:{:032x}", hasher.digest128())
}

/// SHA-256 of the parts (each followed by a separator), first 16 bytes, hex.
fn short_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update([0xff]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `policy-watch check-sources` learns about a source: one fetch of its first page, parsed,
/// nothing stored.
#[derive(Debug)]
pub struct Probe {
    pub elapsed: std::time::Duration,
    pub result: Result<ProbeBody, SourceError>,
}

#[derive(Debug)]
pub struct ProbeBody {
    pub bytes: usize,
    pub content_type: Option<String>,
    /// How the bytes were decoded and what declared their charset.
    pub charset: String,
    pub parsed: Parsed,
}

/// Fetches and parses a source's first page once, without validators and without the store.
pub async fn probe(fetcher: &Fetcher, source: &Arc<SourceConfig>) -> Probe {
    let started = std::time::Instant::now();
    let result = async {
        let body = match fetcher.fetch(source, &Validators::default()).await? {
            Fetched::Body(body) => body,
            Fetched::NotModified { .. } => {
                return Err(SourceError::Parse(ParseError::NotAFeed(
                    "HTTP 304 to a request without validators".into(),
                )));
            }
        };
        let bytes = body.bytes.len();
        let content_type = body.content_type.clone();
        let html = *source.kind.get_ref() == SourceKind::HtmlList;
        let charset = decode::describe(&body.bytes, content_type.as_deref(), html);
        let (parsed, _) = parse_blocking(source, *body).await?;
        Ok(ProbeBody {
            bytes,
            content_type,
            charset,
            parsed: parsed?,
        })
    }
    .await;
    Probe {
        elapsed: started.elapsed(),
        result,
    }
}

/// Fetches and parses one source once. `seen` tells whether a key was already recorded for
/// this source (`None` before its baseline): a list source with `max_pages` > 1 reads further
/// pages until one shows a row already seen, so that a burst of more releases than a page holds
/// is not missed.
pub async fn poll(
    fetcher: &Fetcher,
    source: &Arc<SourceConfig>,
    validators: &Validators,
    seen: Option<&(dyn Fn(&str) -> bool + Send + Sync)>,
) -> Result<PollOutcome, SourceError> {
    match fetcher.fetch(source, validators).await? {
        Fetched::NotModified { max_age } => Ok(PollOutcome::NotModified { max_age }),
        Fetched::Body(mut body) => {
            let hash = body_hash(source, &body.bytes);
            if validators.body_hash.as_deref() == Some(hash.as_str()) {
                // The same bytes as the last committed poll: nothing new, nothing to parse.
                return Ok(PollOutcome::NotModified {
                    max_age: body.max_age,
                });
            }
            body.validators.body_hash = Some(hash);
            let (parsed, body) = parse_blocking(source, *body).await?;
            let mut parsed = parsed?;
            if let Some(seen) = seen {
                read_further_pages(fetcher, source, seen, &mut parsed).await;
            }
            Ok(PollOutcome::Items {
                items: parsed.items,
                stats: parsed.stats,
                validators: body.validators,
                max_age: body.max_age,
            })
        }
    }
}

/// Parses on the blocking pool (HTML and XML parsing of up to megabytes).
async fn parse_blocking(
    source: &Arc<SourceConfig>,
    body: fetch::Body,
) -> Result<(Result<Parsed, ParseError>, fetch::Body), ParseError> {
    let source = Arc::clone(source);
    tokio::task::spawn_blocking(move || {
        let parsed = parse_body(&source, &body);
        (parsed, body)
    })
    .await
    .map_err(|e| ParseError::NotAFeed(format!("the parser crashed on this response: {e}")))
}

/// Pages 2…`max_pages` of a list, until a page shows a key already seen. A further page that
/// fails or has no rows ends the paging quietly: page 1 is what the poll stands on.
async fn read_further_pages(
    fetcher: &Fetcher,
    source: &Arc<SourceConfig>,
    seen: &(dyn Fn(&str) -> bool + Send + Sync),
    parsed: &mut Parsed,
) {
    let mut last_page_items = parsed.items.len();
    for page in 2..=source.max_pages {
        if last_page_items == 0 && parsed.stats.filtered == 0 {
            return;
        }
        if parsed.items.iter().any(|i| seen(&i.key)) {
            return;
        }
        let url = page_url(&source.url, &source.page_param, page);
        let body = match fetcher
            .fetch_url(source, &url, &Validators::default())
            .await
        {
            Ok(Fetched::Body(body)) => body,
            Ok(Fetched::NotModified { .. }) => return,
            Err(e) => {
                tracing::debug!(source = %source.id(), page, "cannot read a further page: {e}");
                return;
            }
        };
        let Ok((Ok(more), _)) = parse_blocking(source, *body).await else {
            return;
        };
        tracing::debug!(source = %source.id(), page, items = more.items.len(), "read a further page");
        last_page_items = more.items.len();
        parsed.stats.rows += more.stats.rows;
        parsed.stats.filtered += more.stats.filtered;
        parsed.items.extend(more.items);
    }
}

/// The list's URL with `param` set to `page`.
pub fn page_url(url: &url::Url, param: &str, page: usize) -> url::Url {
    let mut url = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(param, &page.to_string());
    url
}
