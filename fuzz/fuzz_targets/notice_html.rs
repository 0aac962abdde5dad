//! An item (title, summary, link from the input) → classification with the shipped topics →
//! the Telegram message: always valid Telegram HTML within 4096 UTF-16 units, and the same for
//! digest and /recent lists.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "../../tests/support/telegram_html.rs"]
#[allow(dead_code)]
mod telegram_html;

use policy_watch::classify::{Classifier, TopicMatch};
use policy_watch::render;
use policy_watch::records::Notice;

fn check(html: &str) {
    let visible = telegram_html::validate(html).unwrap_or_else(|e| panic!("invalid HTML ({e}): {html}"));
    assert!(
        visible.encode_utf16().count() <= render::TELEGRAM_MAX_UTF16,
        "too long: {} units",
        visible.encode_utf16().count()
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{0}');
    let title = parts.next().unwrap_or_default();
    let summary = parts.next().unwrap_or_default();
    let link = parts.next().and_then(|l| url::Url::parse(l).ok());
    static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
    let classifier = CLASSIFIER.get_or_init(|| {
        let config = common::shipped();
        Classifier::new(&config.classify, &config.topics).unwrap()
    });
    let item = policy_watch::items::Item::new(Some("g"), title, link, Some(summary), None);
    common::check_item(&item);
    let mut topics = classifier.classify(&item.title, &item.summary);
    if topics.is_empty() {
        // Render the rest too: a topic whose name and keywords come from the input.
        topics.push(TopicMatch {
            id: "fuzz".into(),
            name: title.chars().take(50).collect::<String>().into(),
            hashtag: "#fuzz".into(),
            keywords: vec![summary.chars().take(30).collect::<String>().into()],
        });
    }
    let notice = Notice {
        source_id: "msit-press".into(),
        source_name: summary.chars().take(40).collect(),
        ministry: "과학기술정보통신부".into(),
        item,
        topics,
        seen_at: chrono::Utc::now(),
        watched: Vec::new(),
        attachments: Vec::new(),
        files_page: None,
    };
    check(&render::telegram_html(&notice));
    let many = vec![notice; 30];
    for part in render::split_list(many, 60) {
        check(&render::notice_list_html("최근 알림", &part));
    }
});
