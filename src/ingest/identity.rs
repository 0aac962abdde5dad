//! What identifies a release across sources (its folded title), and the order a poll's items
//! are recorded in.

use sha2::Digest;

use crate::items::Item;

/// Identity of an item across sources: a hash of its folded title without leading bracketed
/// tags (`[보도참고]`, `(설명자료)`), so the same release seen on korea.kr and on the ministry's own
/// feed is sent once.
pub fn title_key(title: &str) -> Option<[u8; 16]> {
    let mut rest = title.trim();
    while let Some(close) = match rest.chars().next() {
        Some('[') => rest.find(']'),
        Some('(') => rest.find(')'),
        Some('【') => rest.find('】'),
        _ => None,
    } {
        rest = rest[close..]
            .trim_start_matches([']', ')', '】'])
            .trim_start();
    }
    TITLE_TEXT.with_borrow_mut(|text| {
        crate::fold::normalize_into(rest, text);
        // Seven characters at most: too short to identify a release ("공지", "보도자료").
        if crate::fold::first_chars(&text.folded, 7).len() == text.folded.len() {
            return None;
        }
        let digest = sha2::Sha256::digest(text.folded.as_bytes());
        digest[..16].try_into().ok()
    })
}

thread_local! {
    /// [`title_key`]'s buffers, reused: every item of every poll has its title keyed.
    static TITLE_TEXT: std::cell::RefCell<crate::fold::Normalized> = std::cell::RefCell::default();
}

/// Oldest first. Feeds list newest first; when every item is dated, dates decide (stable for
/// equal days), otherwise the feed's order is reversed.
pub(super) fn delivery_order(mut items: Vec<Item>) -> Vec<Item> {
    items.reverse();
    if items.iter().all(|i| i.published.is_some()) {
        items.sort_by_key(|i| i.published);
    }
    items
}
