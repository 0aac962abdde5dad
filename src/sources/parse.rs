//! A fetched body turned into items by the source's kind, and what the parse saw.

use crate::config::{SourceConfig, SourceKind};
use crate::items::Item;

use super::{briefing, feed, fetch, html_list};

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
