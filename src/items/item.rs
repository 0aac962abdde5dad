//! The item every source kind produces, and its identity for sources whose links carry
//! volatile parameters.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::keys::{dedup_key, keep_params, normalize_link, short_hash};
use super::text::{clean_text, html_to_text, truncate_in_place};
use crate::config::{Identity, IdentityFrom};

/// Longest summary kept, in characters. MSIT's `content:encoded` runs to tens of kilobytes per
/// item; classification reads the lead and messages show a snippet, so the rest is dropped as
/// early as possible.
pub const MAX_SUMMARY_CHARS: usize = 1500;

/// Longest title kept, in characters (a hostile feed can send megabytes).
pub const MAX_TITLE_CHARS: usize = 500;

/// One published item, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Dedup key within the source: `g:` guid, `l:` normalised link, or `h:` hash of title+link.
    pub key: String,
    pub title: String,
    pub link: Option<String>,
    /// Plain text: HTML stripped, entities decoded, whitespace collapsed, capped.
    pub summary: String,
    pub published: Option<DateTime<Utc>>,
}

impl Item {
    /// Builds an item from raw parts. `guid` must be the feed's own id (never a generated one:
    /// feed-rs invents a random id for guid-less items, which would defeat dedup).
    pub fn new(
        guid: Option<&str>,
        title: &str,
        link: Option<Url>,
        summary_html: Option<&str>,
        published: Option<DateTime<Utc>>,
    ) -> Item {
        let mut title = clean_text(title);
        truncate_in_place(&mut title, MAX_TITLE_CHARS);
        let link = link.map(|l| normalize_link(l).to_string());
        let summary = summary_html
            .map(|s| {
                let mut summary = html_to_text(s);
                truncate_in_place(&mut summary, MAX_SUMMARY_CHARS);
                summary
            })
            .unwrap_or_default();
        let key = dedup_key(guid, link.as_deref(), &title);
        Item {
            key,
            title,
            link,
            summary,
            published,
        }
    }
}

/// Rebuilds an item's key (and, for `link_params`, its link) from what identifies the document,
/// for sources whose links carry volatile parameters. `row_html` is the list row's HTML (for
/// `from = "row"`). Returns false when the identity could not be read from this item (its key
/// stays the default one; `check-sources` reports it).
pub fn apply_identity(item: &mut Item, identity: &Identity, row_html: Option<&str>) -> bool {
    if let Some(params) = &identity.link_params {
        let Some(link) = item.link.as_deref().and_then(|l| Url::parse(l).ok()) else {
            return false;
        };
        let kept = keep_params(link, params);
        let found = kept.query().is_some();
        item.link = Some(kept.to_string());
        item.key = dedup_key(None, item.link.as_deref(), &item.title);
        return found;
    }
    let Some(pattern) = &identity.pattern else {
        return true;
    };
    let text = match identity.from {
        IdentityFrom::Link => item.link.as_deref(),
        IdentityFrom::Row => row_html,
    };
    let captured = text
        .and_then(|t| pattern.regex.captures(t))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim())
        .filter(|m| !m.is_empty());
    match captured {
        Some(id) if id.len() <= 200 => {
            item.key = format!("i:{id}");
            true
        }
        Some(id) => {
            item.key = format!("i#{}", short_hash(&[id]));
            true
        }
        None => false,
    }
}
