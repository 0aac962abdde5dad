//! Property test: any item text renders to Telegram HTML that Telegram's parser accepts, within
//! the 4096 UTF-16 limit, showing the item's text literally.

use crate::support;

use chrono::Utc;
use policy_watch::classify::TopicMatch;
use policy_watch::items::Item;
use policy_watch::records::Notice;
use policy_watch::render;
use proptest::prelude::*;
use support::telegram_html::validate;

fn notice(title: String, summary: String, link: Option<String>, keywords: Vec<String>) -> Notice {
    let link = link.and_then(|l| url::Url::parse(&format!("https://example.go.kr/{l}")).ok());
    Notice {
        source_id: "s".into(),
        source_name: "과학기술정보통신부 보도자료".into(),
        ministry: "과학기술정보통신부".into(),
        item: Item::new(None, &title, link, Some(&summary), None),
        topics: vec![TopicMatch {
            id: "t".into(),
            name: "T".into(),
            hashtag: "#AI반도체".into(),
            keywords: keywords.iter().map(|k| k.as_str().into()).collect(),
        }],
        seen_at: Utc::now(),
        // Watch words are typed by users: as hostile as anything a feed sends.
        watched: keywords,
        attachments: vec![],
        files_page: None,
    }
}

/// Text mixing markup-like characters, entities, Korean, emoji, RTL and control characters.
fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("<".to_owned()),
            Just(">".to_owned()),
            Just("&".to_owned()),
            Just("&amp;".to_owned()),
            Just("&apos;".to_owned()),
            Just("\"".to_owned()),
            Just("</b>".to_owned()),
            Just("<a href=\"x\">".to_owned()),
            Just("😀".to_owned()),
            Just("\u{202E}".to_owned()),
            Just("반도체".to_owned()),
            any::<String>(),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_item_renders_to_valid_telegram_html_within_the_limit(
        title in hostile(),
        summary in hostile(),
        repeat in 0usize..400,
        link in prop::option::of("[a-z0-9?=&\"<>%]{0,30}"),
        keywords in prop::collection::vec(hostile(), 0..4),
    ) {
        let summary = summary.repeat(repeat.max(1));
        let n = notice(title, summary, link, keywords);
        let html = render::telegram_html(&n);
        let visible = validate(&html).map_err(|e| TestCaseError::fail(format!("{e}: {html}")))?;
        prop_assert!(visible.encode_utf16().count() <= 4096, "{} units", visible.encode_utf16().count());
        prop_assert!(!html.contains("&apos;"));
        // The title is shown as text (as normalised for the item), not interpreted.
        prop_assert!(visible.starts_with(&n.item.title), "{visible:?} vs {:?}", n.item.title);
    }
}
