//! What operators see: /status, /reload.

use html_escape::encode_text;

use super::catalogue::say;
use crate::records::Lang;

pub(crate) fn reloaded(lang: Lang, sources: usize, enabled: usize, topics: usize) -> String {
    say!(
        lang,
        "reloaded",
        sources = sources,
        enabled = enabled,
        topics = topics
    )
}

pub(crate) fn reload_failed(lang: Lang, error: &str) -> String {
    format!(
        "{}\n<code>{}</code>",
        say!(lang, "reload-failed"),
        encode_text(error)
    )
}

pub(crate) fn reload_unavailable(lang: Lang) -> String {
    say!(lang, "reload-unavailable")
}

/// One source in `/status`.
pub(crate) struct SourceStatus {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub(crate) last_success: Option<String>,
    pub last_error: Option<String>,
    pub failures: u32,
    pub items_seen: u64,
    pub(crate) next_poll: Option<String>,
}

/// Everything `/status` shows.
pub(crate) struct Status {
    pub version: &'static str,
    pub(crate) uptime: String,
    pub sources: Vec<SourceStatus>,
    pub outbox: usize,
    pub dead_letters: usize,
    pub(crate) subscribers_active: usize,
    pub(crate) subscribers_total: usize,
    /// Active chats with at least one watch word.
    pub watching: usize,
}

/// Telegram's 4,096-character limit: past this many, a long source list ends with a count.
const STATUS_CHARS: usize = 3500;

pub(crate) fn status(lang: Lang, s: &Status) -> String {
    let mut out = say!(
        lang,
        "status-heading",
        version = s.version,
        uptime = s.uptime,
        outbox = s.outbox,
        dead = s.dead_letters,
        active = s.subscribers_active,
        total = s.subscribers_total,
        watching = s.watching,
    );
    out.push('\n');
    for (shown, src) in s.sources.iter().enumerate() {
        if out.chars().count() > STATUS_CHARS {
            let more = s.sources.len() - shown;
            out.push('\n');
            out.push_str(&say!(lang, "status-more-sources", count = more));
            break;
        }
        let disabled = if src.enabled {
            String::new()
        } else {
            format!(" — {}", say!(lang, "status-disabled"))
        };
        out.push_str(&format!(
            "\n<b>{}</b> (<code>{}</code>){disabled}\n",
            encode_text(&src.name),
            encode_text(&src.id),
        ));
        let never = say!(lang, "status-never");
        let last = src.last_success.as_deref().unwrap_or(&never);
        let next = src.next_poll.as_deref().unwrap_or("-");
        out.push_str(&say!(
            lang,
            "status-source",
            last = last,
            next = next,
            seen = src.items_seen
        ));
        out.push('\n');
        if let Some(error) = &src.last_error {
            out.push_str(&say!(
                lang,
                "status-failing",
                failures = src.failures,
                error = encode_text(error)
            ));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_status_stays_under_telegrams_limit() {
        let long = Status {
            version: "0.1.0",
            uptime: "1h".into(),
            sources: (0..1000)
                .map(|n| SourceStatus {
                    id: format!("source-{n}"),
                    name: format!("보도자료 {n} <b>"),
                    enabled: true,
                    last_success: Some("2026-11-26 09:00 KST".into()),
                    last_error: Some("HTTP 502 & more".into()),
                    failures: 3,
                    items_seen: 50,
                    next_poll: None,
                })
                .collect(),
            outbox: 0,
            dead_letters: 0,
            subscribers_active: 1,
            subscribers_total: 1,
            watching: 0,
        };
        for lang in [Lang::Ko, Lang::En] {
            let text = status(lang, &long);
            assert!(text.chars().count() < 4096, "{}", text.chars().count());
            assert!(text.contains("more sources") || text.contains("개 더"));
            assert!(
                text.contains("&lt;b&gt;") && text.contains("&amp; more"),
                "escaped"
            );
        }
    }
}
