//! One poll of one source (its pages), and `check-sources`' one-off probe.

use std::sync::Arc;

use crate::config::{SourceConfig, SourceKind};

use super::decode;
use super::fetch::{self, FetchError, Fetched, Fetcher, Validators};
use super::fingerprint::body_hash;
use super::parse::{ParseError, Parsed, parse_body};
use super::poller::PollOutcome;

/// Whether to keep polling or do one cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Poll every source on its schedule until shut down.
    Daemon,
    /// Poll every enabled source once, deliver everything pending, return.
    Once,
}

/// Everything that can go wrong polling a source. Never fatal: the poller backs off and retries.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
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
