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
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id marks "the feed gave none": feed-rs's default invents a random one, which
        // would make guid-less items look new on every poll.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(items::parse_date)
        .sanitize_content(false)
        .build();
    // Most feeds declare UTF-8 and are: parsed as they came, decoded only when that fails.
    let as_declared = decode::declares_utf8(bytes);
    let parsed = if as_declared {
        parser.parse(bytes)
    } else {
        parser.parse(decode::feed_bytes(bytes, content_type).as_ref())
    };
    let feed = match parsed {
        Err(_) if as_declared && !decode::is_utf8(bytes) => {
            parser.parse(decode::feed_bytes(bytes, content_type).as_ref())
        }
        parsed => parsed,
    }
    .map_err(|e| {
        if looks_like_html(bytes) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Korean sites that declare UTF-8 and serve EUC-KR exist: such bytes, handed to the parser
    /// as they are first, must still come out as the Korean text (decoded after the parser
    /// refused them), never as replacement characters.
    #[test]
    fn a_feed_declared_utf8_in_euc_kr_is_still_read_as_korean() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
            <title>보도자료</title><item><title>인공지능 반도체 실증 사업 공고</title>\
            <link>https://example.kr/1</link><guid>1</guid></item></channel></rss>";
        let (euc_kr, _, unmappable) = encoding_rs::EUC_KR.encode(text);
        assert!(!unmappable);
        assert!(
            !decode::is_utf8(&euc_kr),
            "the test needs bytes that are not UTF-8"
        );
        let base = Url::parse("https://example.kr/").unwrap();
        let items = parse(&euc_kr, Some("application/rss+xml"), &base).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, "인공지능 반도체 실증 사업 공고");

        let items = parse(text.as_bytes(), None, &base).unwrap();
        assert_eq!(items[0].title, "인공지능 반도체 실증 사업 공고");
    }
}
