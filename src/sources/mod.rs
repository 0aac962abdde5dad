//! Sources: fetch (HTTP), decode (charsets), parse (feeds and list pages) and the per-source
//! [`Poller`] that schedules it all with jitter and backoff.

mod decode;
pub mod feed;
pub mod fetch;
pub mod html_list;
mod poller;
pub mod scheduler;

use std::sync::Arc;

pub use fetch::{FetchError, Fetched, Fetcher, Validators};
pub use poller::{PollEvent, PollOutcome, Poller};
pub use scheduler::Scheduler;

use crate::config::{SourceConfig, SourceKind};
use crate::items::Item;

/// Why a response could not be turned into items.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    NotAFeed(String),
    #[error(
        "the page has no rows matching the item selector {0:?} (source returned 0 items): the layout probably changed; update [source.select]"
    )]
    NoRows(String),
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
pub fn parse_body(source: &SourceConfig, body: &fetch::Body) -> Result<Vec<Item>, ParseError> {
    let content_type = body.content_type.as_deref();
    match source.kind.get_ref() {
        SourceKind::Feed => feed::parse(&body.bytes, content_type, &body.final_url),
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
            )
        }
    }
}

/// A short, stable fingerprint of a response body and of how it is parsed (SHA-256, first 16
/// bytes, hex): new selectors or a new row filter make the same page worth parsing again.
fn body_hash(source: &SourceConfig, bytes: &[u8]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    if let Some(select) = &source.select {
        let s = select.get_ref();
        for selector in [
            Some(&s.item),
            Some(&s.title),
            s.link.as_ref(),
            s.date.as_ref(),
            s.summary.as_ref(),
        ] {
            hasher.update(selector.map_or("", |c| c.text.as_str()));
            hasher.update([0]);
        }
    }
    if let Some(filter) = &source.filter {
        let f = filter.get_ref();
        hasher.update(f.selector.as_ref().map_or("", |c| c.text.as_str()));
        for word in &f.any_of {
            hasher.update([0]);
            hasher.update(word);
        }
    }
    hasher.update([0xff]);
    hasher.update(bytes);
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fetches and parses one source once.
pub async fn poll(
    fetcher: &Fetcher,
    source: &Arc<SourceConfig>,
    validators: &Validators,
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
            let source = Arc::clone(source);
            let (items, body) = tokio::task::spawn_blocking(move || {
                let items = parse_body(&source, &body);
                (items, body)
            })
            .await
            .map_err(|e| {
                ParseError::NotAFeed(format!("the parser crashed on this response: {e}"))
            })?;
            Ok(PollOutcome::Items {
                items: items?,
                validators: body.validators,
                max_age: body.max_age,
            })
        }
    }
}
