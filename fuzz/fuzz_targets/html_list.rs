//! A list page → items with the shipped korea.kr selectors and filter: never panics, items clean.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let config = common::shipped();
    let source = config
        .sources
        .iter()
        .find(|s| s.select.is_some() && s.filter.is_some())
        .expect("the shipped config has a filtered list source");
    let base = url::Url::parse("https://www.korea.kr/briefing/pressReleaseList.do").unwrap();
    let result = policy_watch::sources::parse_list(
        data,
        Some("text/html; charset=utf-8"),
        &base,
        source.select.as_ref().unwrap().get_ref(),
        source.filter.as_ref().map(|f| f.get_ref()),
        source.identity.as_ref().map(|i| i.get_ref()),
    );
    if let Ok(parsed) = result {
        for item in &parsed.items {
            common::check_item(item);
        }
    }
});
