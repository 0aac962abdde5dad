//! Dedup keys and links: what makes two sightings of a document the same item.

use sha2::{Digest, Sha256};
use url::Url;

/// The link with only the named query parameters (in the link's order).
pub(super) fn keep_params(url: Url, params: &[String]) -> Url {
    retain_params(url, |k| params.iter().any(|p| p == k))
}

/// The link with only the query parameters whose name passes `keep` (no `?` when none does).
fn retain_params(mut url: Url, keep: impl Fn(&str) -> bool) -> Url {
    if url.query().is_none() {
        return url;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url
}

/// guid → normalised link → hash(title + link).
pub fn dedup_key(guid: Option<&str>, link: Option<&str>, title: &str) -> String {
    if let Some(guid) = guid.map(str::trim).filter(|g| !g.is_empty()) {
        // Bound the key: a hostile guid must not bloat the store.
        if guid.len() <= 256 {
            return format!("g:{guid}");
        }
        return format!("g#{}", short_hash(&[guid]));
    }
    if let Some(link) = link {
        if link.len() <= 256 {
            return format!("l:{link}");
        }
        return format!("l#{}", short_hash(&[link]));
    }
    format!("h:{}", short_hash(&[title, link.unwrap_or("")]))
}

pub(super) fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Query parameters that only track the reader and never identify the document.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc", "_hsmi",
];

/// Scheme and host lower-cased (the url crate does that), fragment and tracking parameters dropped.
pub fn normalize_link(mut url: Url) -> Url {
    url.set_fragment(None);
    retain_params(url, |k| {
        let k = k.to_ascii_lowercase();
        !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
    })
}

/// Resolves `href` against `base`, accepting only http(s) results.
pub fn resolve_link(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with("javascript:") || href.starts_with('#') {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}
