//! The text of a notice. The terminal and Telegram show the same content: title, link,
//! ministry and source, date in KST, topic hashtags, matched keywords, a short snippet.

use super::Notice;
use crate::items::{format_kst, truncate_chars};

/// Characters of summary shown under the title.
pub const SNIPPET_CHARS: usize = 300;

/// Plain-text rendering (dry-run output).
pub fn plain(notice: &Notice) -> String {
    let item = &notice.item;
    let mut out = String::new();
    out.push_str("■ ");
    out.push_str(&item.title);
    out.push('\n');
    if let Some(link) = &item.link {
        out.push_str(link);
        out.push('\n');
    }
    out.push_str(&meta_line(notice));
    out.push('\n');
    if !notice.topics.is_empty() {
        out.push_str(&topics_line(notice));
        out.push('\n');
    }
    if !item.summary.is_empty() {
        out.push_str(&truncate_chars(&item.summary, SNIPPET_CHARS));
        out.push('\n');
    }
    out.push('\n');
    out
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

/// `#AI반도체 #HBM (NPU, HBM)`
pub fn topics_line(notice: &Notice) -> String {
    let tags: Vec<&str> = notice.topics.iter().map(|t| t.hashtag.as_str()).collect();
    let mut keywords: Vec<&str> = Vec::new();
    for topic in &notice.topics {
        for k in &topic.keywords {
            if !keywords.contains(&k.as_str()) {
                keywords.push(k);
            }
        }
    }
    format!("{} ({})", tags.join(" "), keywords.join(", "))
}
