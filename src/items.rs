//! Normalised items and the helpers that make them: dedup keys, link normalisation, HTML to
//! text, and the date forms Korean government sites use.
//!
//! Every source kind (feed or list page) produces the same [`Item`], so dedup, classification and
//! delivery never care where an item came from.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::{Identity, IdentityFrom};

/// Longest summary kept, in characters. MSIT's `content:encoded` runs to tens of kilobytes per
/// item; classification reads the lead and messages show a snippet, so the rest is dropped as
/// early as possible.
pub const MAX_SUMMARY_CHARS: usize = 1500;

/// Longest title kept, in characters (a hostile feed can send megabytes).
pub const MAX_TITLE_CHARS: usize = 500;

/// Korea Standard Time, in which every ministry publishes and every notice is dated.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

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

/// The link with only the named query parameters (in the link's order).
fn keep_params(url: Url, params: &[String]) -> Url {
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

fn short_hash(parts: &[&str]) -> String {
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

/// Decodes entities, drops control and invisible formatting characters, collapses whitespace.
pub fn clean_text(text: &str) -> String {
    let decoded = html_escape::decode_html_entities(text);
    collapse_whitespace(&decoded)
}

/// Collapses runs of whitespace to one space and drops control characters and bidi/zero-width
/// formatting characters, which can reorder or hide text in a notice.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    // Start of the run of kept characters not yet copied: copied a run at a time, not a
    // character at a time (every summary of every item passes through here).
    let mut run = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // What the character at `i` is, and its length: ASCII and U+A000..=U+DFFF (lead bytes
        // EA..=ED: Hangul syllables, never space, control or formatting) without decoding.
        let (space, dropped, len) = match bytes[i] {
            0x09..=0x0D | b' ' => (true, true, 1),
            0x00..=0x1F | 0x7F => (false, true, 1),
            0x00..=0x7F => (false, false, 1),
            0xEA..=0xED => (false, false, 3),
            _ => {
                let c = text[i..]
                    .chars()
                    .next()
                    .expect("a character at a char boundary");
                let space = c.is_whitespace();
                (
                    space,
                    space || c.is_control() || is_invisible_format(c),
                    c.len_utf8(),
                )
            }
        };
        if dropped {
            if let Some(start) = run.take() {
                out.push_str(&text[start..i]);
            }
            if space {
                pending_space = !out.is_empty();
            }
        } else if run.is_none() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            run = Some(i);
        }
        i += len;
    }
    if let Some(start) = run {
        out.push_str(&text[start..]);
    }
    out
}

fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Plain text of an HTML fragment: the text of its elements (entities decoded), a space where a
/// block element starts or ends, nothing from `<script>` or `<style>`. Read with html5ever's
/// tokenizer alone: a summary needs no tree, and building one (a node and its attributes per
/// element) was most of the cost of reading an item with an HTML description.
pub fn html_to_text(html: &str) -> String {
    use html5ever::tokenizer::{
        BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    };
    use std::cell::{Cell, RefCell};

    struct Text {
        text: RefCell<String>,
        /// Inside `<script>` or `<style>`.
        hidden: Cell<bool>,
    }
    impl TokenSink for Text {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            match token {
                Token::CharacterTokens(t) if !self.hidden.get() => {
                    self.text.borrow_mut().push_str(&t)
                }
                Token::TagToken(tag) => {
                    let name: &str = &tag.name;
                    if is_block(name) {
                        self.text.borrow_mut().push(' ');
                    }
                    let raw = match name {
                        "script" => Some(html5ever::tokenizer::states::RawKind::ScriptData),
                        "style" => Some(html5ever::tokenizer::states::RawKind::Rawtext),
                        _ => None,
                    };
                    if let Some(kind) = raw {
                        let start = tag.kind == TagKind::StartTag && !tag.self_closing;
                        self.hidden.set(start);
                        if start {
                            return TokenSinkResult::RawData(kind);
                        }
                    }
                }
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }

    if !html.contains('<') {
        return clean_text(html);
    }
    let tokenizer = Tokenizer::new(
        Text {
            text: RefCell::new(String::with_capacity(html.len().min(16 * 1024))),
            hidden: Cell::new(false),
        },
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    // In pieces, to stop early: the summary is capped anyway and MSIT bodies are huge.
    let mut rest = html;
    while !rest.is_empty() && tokenizer.sink.text.borrow().len() <= MAX_SUMMARY_CHARS * 8 {
        let mut cut = rest.len().min(8 * 1024);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        input.push_back(piece.into());
        let _ = tokenizer.feed(&input);
        rest = tail;
    }
    tokenizer.end();
    let text = tokenizer.sink.text.take();
    collapse_whitespace(&text)
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "tr"
            | "td"
            | "th"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "table"
            | "ul"
            | "ol"
    )
}

/// Cuts `text` to at most `max` characters, on a character boundary, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match kept_before_cut(text, max) {
        None => text.to_owned(),
        Some(kept) => format!("{}…", &text[..kept]),
    }
}

/// [`truncate_chars`] of `text` itself: no copy, cut or not.
pub fn truncate_in_place(text: &mut String, max: usize) {
    if let Some(kept) = kept_before_cut(text, max) {
        text.truncate(kept);
        text.push('…');
    }
}

/// When `text` has more than `max` characters: the bytes kept before the `…` that marks the cut.
fn kept_before_cut(text: &str, max: usize) -> Option<usize> {
    use crate::fold::first_chars;
    (first_chars(text, max).len() < text.len())
        .then(|| first_chars(text, max.saturating_sub(1)).trim_end().len())
}

/// Parses the date forms seen on Korean government sites and in feeds: RFC 2822 (also with a
/// `KST` zone), RFC 3339, `YYYY.MM.DD`, `YYYY-MM-DD`, `YYYY/MM/DD`, each optionally followed by
/// `HH:MM[:SS]` and a zone. Times without a zone are KST. Unparseable → `None` (the caller falls
/// back to the first-seen time; a bad date is never an error).
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim().trim_end_matches('.').trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(text) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.with_timezone(&Utc));
    }
    let (body, zone) = split_zone(text);
    if zone.is_some()
        && let Some(d) = parse_rfc2822_with(body, zone)
    {
        return Some(d);
    }
    let offset = zone.unwrap_or_else(kst);
    let normalised: String = body.replace(['.', '/'], "-").replace('T', " ");
    let normalised = normalised.trim_end_matches('-').trim();
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y- %m- %d %H:%M:%S",
        "%Y- %m- %d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(normalised, format) {
            return offset
                .from_local_datetime(&naive)
                .single()
                .map(|d| d.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%d", "%Y- %m- %d"] {
        if let Ok(day) = NaiveDate::parse_from_str(normalised, format) {
            let naive = day.and_hms_opt(0, 0, 0)?;
            return offset
                .from_local_datetime(&naive)
                .single()
                .map(|d| d.with_timezone(&Utc));
        }
    }
    None
}

/// Splits a trailing zone (`KST`, `+0900`, `+09:00`, `GMT`, `UTC`, `Z`) off a date.
fn split_zone(text: &str) -> (&str, Option<FixedOffset>) {
    let Some((body, last)) = text.rsplit_once(' ') else {
        return (text, None);
    };
    let zone = match last {
        "KST" | "kst" => Some(kst()),
        "GMT" | "UTC" | "Z" => FixedOffset::east_opt(0),
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() >= 5 => numeric_zone(z),
        _ => None,
    };
    match zone {
        Some(z) => (body, Some(z)),
        None => (text, None),
    }
}

/// `+0900`, `+09:00`, `-0500`.
fn numeric_zone(zone: &str) -> Option<FixedOffset> {
    let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
    let hours: i32 = digits.get(0..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn parse_rfc2822_with(body: &str, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    let zone = zone?;
    // "Tue, 25 Nov 2026 10:00:00 KST": parse the body as naive RFC 2822 and apply the zone.
    let body = body.split_once(", ").map(|(_, rest)| rest).unwrap_or(body);
    let naive = NaiveDateTime::parse_from_str(body, "%d %b %Y %H:%M:%S").ok()?;
    zone.from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// A duration as people write it: "365d", "12h", "1d 6h" (humantime's own format shows
/// 365 days as "11months 30days 3h 50m 24s").
pub fn format_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Formats a time as KST for notices: `2026-11-25 14:00 KST`, or the day alone when the source
/// only gave a day (midnight KST).
pub fn format_kst(when: DateTime<Utc>) -> String {
    let local = when.with_timezone(&kst());
    if local.format("%H:%M:%S").to_string() == "00:00:00" {
        local.format("%Y-%m-%d").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M KST").to_string()
    }
}

#[cfg(test)]
mod tests {
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
        let url =
            Url::parse("HTTPS://WWW.Example.ORG:443/a?id=3&utm_source=x&fbclid=y#top").unwrap();
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
}
