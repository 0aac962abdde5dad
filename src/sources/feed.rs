//! RSS/Atom/JSON Feed through feed-rs.

use feed_rs::model::Entry;
use url::Url;

use super::{ParseError, decode};
use crate::items::{self, Item};

/// Parses feed bytes into items, in the feed's order.
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Vec<Item>, ParseError> {
    let bytes = decode::feed_bytes(bytes, content_type);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id marks "the feed gave none": feed-rs's default invents a random one, which
        // would make guid-less items look new on every poll.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(items::parse_date)
        .sanitize_content(false)
        .build();
    let feed = parser.parse(bytes.as_ref()).map_err(|e| {
        if looks_like_html(&bytes) {
            ParseError::NotAFeed(
                "the response is an HTML page, not a feed (an error or login page?)".into(),
            )
        } else {
            ParseError::NotAFeed(format!("not a valid RSS/Atom/JSON feed: {e}"))
        }
    })?;
    Ok(feed.entries.into_iter().map(|e| to_item(e, base)).collect())
}

fn to_item(entry: Entry, base: &Url) -> Item {
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .and_then(|l| items::resolve_link(base, &l.href));
    let title = entry
        .title
        .as_ref()
        .map(|t| t.content.as_str())
        .unwrap_or("");
    let summary = entry
        .summary
        .as_ref()
        .map(|s| s.content.as_str())
        .filter(|s| !s.trim().is_empty())
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()));
    let guid = (!entry.id.is_empty()).then_some(entry.id.as_str());
    Item::new(
        guid,
        title,
        link,
        summary,
        entry.published.or(entry.updated),
    )
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html")
}
