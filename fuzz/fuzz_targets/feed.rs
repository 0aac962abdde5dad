//! Feed bytes → items: never panics, items are clean (see `common::check_item`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let base = url::Url::parse("https://www.msit.go.kr/rss/").unwrap();
    // The first byte picks the declared content type, as servers send them.
    let (content_type, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 4 {
                0 => None,
                1 => Some("application/rss+xml; charset=utf-8"),
                2 => Some("text/xml; charset=euc-kr"),
                _ => Some("application/json"),
            },
            rest,
        ),
        None => (None, data),
    };
    if let Ok(items) = policy_watch::sources::parse_feed(body, content_type, &base) {
        for item in &items {
            common::check_item(item);
        }
    }
});
