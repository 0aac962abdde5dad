//! Items: keys, links, text and dates on real and hostile input.

use chrono::{DateTime, TimeZone, Utc};
use url::Url;

use super::text::is_invisible_format;
use super::*;

proptest::proptest! {
    /// Copying runs gives what a character at a time gave: one space between words, none
    /// at the ends, controls and invisible formatting dropped (also next to spaces).
    #[test]
    fn collapsing_by_runs_matches_a_character_at_a_time(
        text in "[ a가\t\n\u{200B}\u{0007}\u{3000}\u{00A0}\x0b\x1c\x7f\u{0085}\u{00AD}\u{2028}\u{FEFF}\u{A000}\u{D7FB}나·]{0,24}"
    ) {
        let mut expected = String::new();
        let mut pending_space = false;
        for c in text.chars() {
            if c.is_whitespace() {
                pending_space = !expected.is_empty();
                continue;
            }
            if c.is_control() || is_invisible_format(c) {
                continue;
            }
            if pending_space {
                expected.push(' ');
                pending_space = false;
            }
            expected.push(c);
        }
        proptest::prop_assert_eq!(collapse_whitespace(&text), expected);
    }
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    kst()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn korean_date_forms() {
    assert_eq!(parse_date("2026.11.25"), Some(at(2026, 11, 25, 0, 0)));
    assert_eq!(parse_date("2026.11.25."), Some(at(2026, 11, 25, 0, 0)));
    assert_eq!(
        parse_date("2026-11-25 14:30:00"),
        Some(at(2026, 11, 25, 14, 30))
    );
    assert_eq!(
        parse_date("2026-11-25 14:30 KST"),
        Some(at(2026, 11, 25, 14, 30))
    );
    assert_eq!(parse_date("2026/11/25"), Some(at(2026, 11, 25, 0, 0)));
    assert_eq!(
        parse_date("Wed, 25 Nov 2026 14:30:00 +0900"),
        Some(at(2026, 11, 25, 14, 30))
    );
    assert_eq!(
        parse_date("Wed, 25 Nov 2026 14:30:00 KST"),
        Some(at(2026, 11, 25, 14, 30))
    );
    assert_eq!(
        parse_date("2026-11-25T05:30:00Z"),
        Some(at(2026, 11, 25, 14, 30))
    );
    assert_eq!(parse_date("어제"), None);
    assert_eq!(parse_date(""), None);
}

#[test]
fn link_normalisation_drops_tracking_and_fragment() {
    let url = Url::parse("HTTPS://WWW.Example.ORG:443/a?id=3&utm_source=x&fbclid=y#top").unwrap();
    assert_eq!(
        normalize_link(url).as_str(),
        "https://www.example.org/a?id=3"
    );
}

#[test]
fn dedup_key_prefers_guid_then_link_then_hash() {
    assert_eq!(dedup_key(Some(" 42 "), Some("https://a/"), "t"), "g:42");
    assert_eq!(dedup_key(Some(""), Some("https://a/"), "t"), "l:https://a/");
    let h = dedup_key(None, None, "t");
    assert!(h.starts_with("h:") && h == dedup_key(None, None, "t"));
    assert_ne!(h, dedup_key(None, None, "u"));
}

#[test]
fn html_is_stripped_and_entities_decoded() {
    assert_eq!(
        html_to_text("<p>AI&nbsp;반도체 &amp; <b>NPU</b></p><p>둘째</p>"),
        "AI 반도체 & NPU 둘째"
    );
    assert_eq!(clean_text("a &amp;\u{202E} b\n\tc"), "a & b c");
}

#[test]
fn durations_read_as_written() {
    use std::time::Duration;
    assert_eq!(format_duration(Duration::from_secs(365 * 86_400)), "365d");
    assert_eq!(
        format_duration(Duration::from_secs(86_400 + 6 * 3600)),
        "1d 6h"
    );
    assert_eq!(format_duration(Duration::ZERO), "0s");
}

#[test]
fn truncation_is_on_characters() {
    assert_eq!(truncate_chars("가나다라", 3), "가나…");
    assert_eq!(truncate_chars("가나다", 3), "가나다");
    assert_eq!(truncate_chars("가나", 3), "가나");
    assert_eq!(truncate_chars("가 나다라", 2), "가…");
    assert_eq!(truncate_chars("가", 1), "가");
    assert_eq!(truncate_chars("가나", 1), "…");
    assert_eq!(truncate_chars("가", 0), "…");
    assert_eq!(truncate_chars("", 0), "");
    assert_eq!(truncate_chars("", 5), "");
    for (text, max) in [
        ("가나다라", 3),
        ("가나다", 3),
        ("가 나다라", 2),
        ("가", 0),
        ("", 0),
    ] {
        let mut in_place = text.to_owned();
        truncate_in_place(&mut in_place, max);
        assert_eq!(in_place, truncate_chars(text, max), "{text:?} at {max}");
    }
}

#[test]
fn html_text_skips_scripts_and_styles_and_separates_blocks() {
    assert_eq!(
        html_to_text(
            "<style>p { color: red }</style><div>AI<br>반도체</div><script>var a = '<p>x</p>';</script><td>NPU</td>끝"
        ),
        "AI 반도체 NPU 끝"
    );
    // Inline elements join their text; a self-closing script hides nothing.
    assert_eq!(html_to_text("<b>K</b>-<i>칩</i><script/>스"), "K-칩스");
    // Entities in text and a long body cut early (the summary is capped anyway).
    assert_eq!(
        html_to_text("<p>&lt;AI&gt; &#xBC18;도체</p>"),
        "<AI> 반도체"
    );
    let long = format!("<p>{}</p>", "가나다라 ".repeat(20_000));
    let text = html_to_text(&long);
    assert!(text.chars().count() >= MAX_SUMMARY_CHARS);
    assert!(
        text.len() < long.len() / 2,
        "read to the end: {}",
        text.len()
    );
}
