//! The text of a notice. The terminal and Telegram show the same content: title (linked), ministry
//! and source, date in KST, topic hashtags, matched keywords, a short snippet.
//!
//! Telegram HTML: all feed text is escaped with `&lt; &gt; &amp;` (and `&quot;` inside the href),
//! the only entities Telegram accepts besides numeric ones; feed entities were decoded when the
//! item was made, so nothing is double-escaped and `&apos;` never appears. Telegram limits a
//! message to 4096 UTF-16 code units of text after entity parsing: the snippet is cut to fit.

use html_escape::{encode_double_quoted_attribute, encode_text};

use crate::items::{format_kst, truncate_chars};
use crate::records::{Digest, Notice};

/// Characters of summary shown under the title.
pub const SNIPPET_CHARS: usize = 300;

/// Telegram's limit on a message's text, in UTF-16 code units after entity parsing.
pub const TELEGRAM_MAX_UTF16: usize = 4096;

/// Keywords listed in a notice, at most.
const MAX_KEYWORDS: usize = 8;

/// The parts of a notice, as plain text.
struct Parts {
    title: String,
    link: Option<String>,
    meta: String,
    /// Topics and, on a chat's own copy, the watch words that brought it.
    topics: Option<String>,
    snippet: String,
}

fn parts(notice: &Notice) -> Parts {
    let item = &notice.item;
    let lines: Vec<String> = [
        (!notice.topics.is_empty()).then(|| topics_line(notice)),
        watched_line(notice),
    ]
    .into_iter()
    .flatten()
    .collect();
    Parts {
        title: item.title.clone(),
        link: item.link.clone(),
        meta: meta_line(notice),
        topics: (!lines.is_empty()).then(|| lines.join("\n")),
        snippet: truncate_chars(&item.summary, SNIPPET_CHARS),
    }
}

/// Files of a release shown at most, and characters of a file name.
const ATTACHMENTS_SHOWN: usize = 6;
const ATTACHMENT_NAME_CHARS: usize = 60;

/// The release's files as (name, url), as many as are shown.
fn attachments(notice: &Notice) -> Vec<(String, &str)> {
    notice
        .attachments
        .iter()
        .take(ATTACHMENTS_SHOWN)
        .map(|a| {
            (
                truncate_chars(&a.name, ATTACHMENT_NAME_CHARS),
                a.url.as_str(),
            )
        })
        .collect()
}

/// `📎 NAME.pdf · NAME.hwpx` as visible text (what Telegram counts).
fn attachments_visible(files: &[(String, &str)]) -> Option<String> {
    (!files.is_empty()).then(|| {
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        format!("📎 {}", names.join(" · "))
    })
}

/// `👀 퓨리오사, 리벨리온`: the recipient's watch words the item contains.
pub fn watched_line(notice: &Notice) -> Option<String> {
    (!notice.watched.is_empty()).then(|| format!("👀 {}", notice.watched.join(", ")))
}

/// Plain-text rendering (dry-run output, and Telegram's fallback when HTML is refused).
pub fn plain(notice: &Notice) -> String {
    let p = parts(notice);
    let mut out = format!("■ {}\n", p.title);
    if let Some(link) = &p.link {
        out.push_str(link);
        out.push('\n');
    }
    out.push_str(&p.meta);
    out.push('\n');
    if let Some(topics) = &p.topics {
        out.push_str(topics);
        out.push('\n');
    }
    let files = attachments(notice);
    if !files.is_empty() {
        let files: Vec<String> = files.iter().map(|(n, u)| format!("{n} ({u})")).collect();
        out.push_str(&format!("📎 {}\n", files.join(" · ")));
    }
    if !p.snippet.is_empty() {
        out.push_str(&p.snippet);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Telegram HTML rendering, within [`TELEGRAM_MAX_UTF16`].
pub fn telegram_html(notice: &Notice) -> String {
    let mut p = parts(notice);
    let files = attachments(notice);
    let files_len = attachments_visible(&files).map_or(0, |f| utf16_len(&f) + 1);
    // The visible text is title, meta, topics, files and snippet joined by newlines; trim the
    // snippet (then the title) on character boundaries until it fits.
    let fixed = utf16_len(&p.title)
        + utf16_len(&p.meta)
        + p.topics.as_deref().map_or(0, utf16_len)
        + files_len
        + 4;
    if fixed + utf16_len(&p.snippet) > TELEGRAM_MAX_UTF16 {
        let room = TELEGRAM_MAX_UTF16.saturating_sub(fixed);
        p.snippet = truncate_utf16(&p.snippet, room);
    }
    // Title, meta, topics and files alone too long (the snippet is gone): trim the title.
    if fixed > TELEGRAM_MAX_UTF16 {
        let room = TELEGRAM_MAX_UTF16.saturating_sub(fixed - utf16_len(&p.title));
        p.title = truncate_utf16(&p.title, room);
    }
    let title = encode_text(&p.title);
    let mut out = match &p.link {
        Some(link) => format!(
            "<b><a href=\"{}\">{title}</a></b>",
            encode_double_quoted_attribute(link)
        ),
        None => format!("<b>{title}</b>"),
    };
    out.push('\n');
    out.push_str(&encode_text(&p.meta));
    if let Some(topics) = &p.topics {
        out.push('\n');
        out.push_str(&encode_text(topics));
    }
    if !files.is_empty() {
        let links: Vec<String> = files
            .iter()
            .map(|(name, url)| {
                format!(
                    "<a href=\"{}\">{}</a>",
                    encode_double_quoted_attribute(url),
                    encode_text(name)
                )
            })
            .collect();
        out.push_str(&format!("\n📎 {}", links.join(" · ")));
    }
    if !p.snippet.is_empty() {
        out.push('\n');
        out.push_str(&encode_text(&p.snippet));
    }
    out
}

/// Characters of a title shown in a digest or a `/recent` list.
const LIST_TITLE_CHARS: usize = 200;

/// One notice as a list entry: (title, link, `meta · #tags 👀 words`), plain text.
fn list_entry(notice: &Notice) -> (String, Option<&str>, String) {
    let mut tail: Vec<String> = notice
        .topics
        .iter()
        .map(|t| t.hashtag.to_string())
        .collect();
    tail.extend(watched_line(notice));
    (
        truncate_chars(&notice.item.title, LIST_TITLE_CHARS),
        notice.item.link.as_deref(),
        format!("{} {}", meta_line(notice), tail.join(" "))
            .trim_end()
            .to_owned(),
    )
}

/// A list of notices in Telegram HTML under a bold heading (digests and `/recent`): each a
/// linked title and its meta line. The caller keeps the list short enough for one message
/// (see [`list_entry_len`]).
pub fn notice_list_html(heading: &str, notices: &[Notice]) -> String {
    let mut out = format!("<b>{}</b>\n", encode_text(heading));
    for notice in notices {
        let (title, link, meta) = list_entry(notice);
        let title = encode_text(&title);
        match link {
            Some(link) => out.push_str(&format!(
                "\n• <a href=\"{}\">{title}</a>\n",
                encode_double_quoted_attribute(link)
            )),
            None => out.push_str(&format!("\n• {title}\n")),
        }
        out.push_str(&encode_text(&meta));
        out.push('\n');
    }
    out
}

/// The same list as plain text.
pub fn notice_list_plain(heading: &str, notices: &[Notice]) -> String {
    let mut out = format!("{heading}\n");
    for notice in notices {
        let (title, link, meta) = list_entry(notice);
        out.push_str(&format!("\n• {title}\n"));
        if let Some(link) = link {
            out.push_str(link);
            out.push('\n');
        }
        out.push_str(&meta);
        out.push('\n');
    }
    out
}

/// Visible length of one list entry in UTF-16 units (the link counts in plain text).
pub fn list_entry_len(notice: &Notice) -> usize {
    let (title, link, meta) = list_entry(notice);
    utf16_len(&title) + link.map_or(0, utf16_len) + utf16_len(&meta) + 6
}

/// Splits notices into runs whose list fits one message under a heading of `heading_len`.
pub fn split_list(notices: Vec<Notice>, heading_len: usize) -> Vec<Vec<Notice>> {
    let room = TELEGRAM_MAX_UTF16 - heading_len.min(TELEGRAM_MAX_UTF16 / 2) - 64;
    let mut parts: Vec<Vec<Notice>> = Vec::new();
    let mut used = usize::MAX;
    for notice in notices {
        let len = list_entry_len(&notice);
        if used.saturating_add(len) > room {
            parts.push(Vec::new());
            used = 0;
        }
        used += len;
        parts.last_mut().expect("pushed above").push(notice);
    }
    parts
}

fn digest_heading(digest: &Digest) -> String {
    crate::text::digest_heading(
        digest.lang,
        digest.day,
        digest.notices.len(),
        digest.part,
        digest.parts,
    )
}

/// A digest message in Telegram HTML.
pub fn digest_html(digest: &Digest) -> String {
    notice_list_html(&digest_heading(digest), &digest.notices)
}

/// A digest message as plain text.
pub fn digest_plain(digest: &Digest) -> String {
    notice_list_plain(&digest_heading(digest), &digest.notices)
}

/// Text for an operator alert, escaped for HTML.
pub fn alert_html(text: &str) -> String {
    format!(
        "⚠️ <b>policy-watch</b>\n{}",
        encode_text(&truncate_utf16(text, 3900))
    )
}

/// `과학기술정보통신부 · 보도자료 · 2026-11-25`
pub fn meta_line(notice: &Notice) -> String {
    let when = format_kst(notice.item.published.unwrap_or(notice.seen_at));
    if notice.source_name.contains(&notice.ministry) {
        format!("{} · {when}", notice.source_name)
    } else {
        format!("{} · {} · {when}", notice.ministry, notice.source_name)
    }
}

/// `#AI반도체 #PIM_HBM (NPU, HBM)`
pub fn topics_line(notice: &Notice) -> String {
    let tags: Vec<&str> = notice.topics.iter().map(|t| &*t.hashtag).collect();
    let mut keywords: Vec<&str> = Vec::new();
    for topic in &notice.topics {
        for k in &topic.keywords {
            if !keywords.contains(&&**k) && keywords.len() < MAX_KEYWORDS {
                keywords.push(k);
            }
        }
    }
    format!("{} ({})", tags.join(" "), keywords.join(", "))
}

/// Length as Telegram counts it.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Cuts `text` to at most `max` UTF-16 code units on a character boundary, marking a cut with `…`.
pub fn truncate_utf16(text: &str, max: usize) -> String {
    if utf16_len(text) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + c.len_utf16() + 1 > max {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_truncation_respects_surrogates() {
        let text = "😀😀😀"; // 6 UTF-16 units
        assert_eq!(truncate_utf16(text, 6), text);
        let cut = truncate_utf16(text, 5);
        assert_eq!(cut, "😀😀…");
        assert!(utf16_len(&cut) <= 5);
        assert_eq!(truncate_utf16("abc", 0), "");
    }
}
