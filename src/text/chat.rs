//! A chat's own answers: the command list, /start, /help, /recent, /digest, /stop and the
//! refusals that are about the chat rather than a word.

use chrono::{NaiveDate, NaiveTime};
use html_escape::encode_text;

use super::catalogue::say;
use super::lists::echo;
use crate::records::Lang;

/// The commands, with their descriptions, as registered with setMyCommands (admin commands are
/// not advertised).
pub(crate) fn command_list(lang: Lang) -> Vec<(&'static str, String)> {
    vec![
        ("start", say!(lang, "command-start")),
        ("topics", say!(lang, "command-topics")),
        ("subscribe", say!(lang, "command-subscribe")),
        ("unsubscribe", say!(lang, "command-unsubscribe")),
        ("mysubs", say!(lang, "command-mysubs")),
        ("recent", say!(lang, "command-recent")),
        ("watch", say!(lang, "command-watch")),
        ("unwatch", say!(lang, "command-unwatch")),
        ("watches", say!(lang, "command-watches")),
        ("search", say!(lang, "command-search")),
        ("digest", say!(lang, "command-digest")),
        ("stop", say!(lang, "command-stop")),
        ("help", say!(lang, "command-help")),
    ]
}

/// The `/start` greeting. It names the topics of the running config (not a fixed list: an
/// operator may watch other topics).
pub(crate) fn greeting(lang: Lang, topics: &[&str]) -> String {
    let shown: Vec<&str> = topics.iter().copied().take(6).collect();
    let mut list = encode_text(&shown.join(", ")).into_owned();
    if topics.len() > shown.len() {
        list.push_str(&say!(lang, "greeting-more-topics"));
    }
    say!(lang, "greeting", topics = list)
}

pub(crate) fn help(lang: Lang, admin: bool) -> String {
    let mut out = say!(lang, "help-heading");
    out.push('\n');
    for (command, description) in command_list(lang) {
        out.push_str(&format!("/{command} — {}\n", encode_text(&description)));
    }
    out.push('\n');
    out.push_str(&say!(lang, "help-groups-and-words"));
    if admin {
        out.push_str("\n\n");
        out.push_str(&say!(lang, "help-operators"));
    }
    out
}

/// Reply to free text and unknown commands in private chats.
pub(crate) fn short_help(lang: Lang) -> String {
    say!(lang, "short-help")
}

/// Heading of a `/recent` answer (plain text).
pub(crate) fn recent_heading_plain(lang: Lang, topic: Option<&str>, count: usize) -> String {
    match topic {
        Some(topic) => say!(lang, "recent-heading-topic", count = count, topic = topic),
        None => say!(lang, "recent-heading", count = count),
    }
}

pub(crate) fn recent_empty(lang: Lang) -> String {
    say!(lang, "recent-empty")
}

pub(crate) fn recent_usage(lang: Lang) -> String {
    say!(lang, "recent-usage")
}

pub(crate) fn digest_on(lang: Lang, at: NaiveTime) -> String {
    say!(lang, "digest-on", time = at.format("%H:%M"))
}

pub(crate) fn digest_off(lang: Lang) -> String {
    say!(lang, "digest-off")
}

pub(crate) fn digest_usage(lang: Lang, current: Option<NaiveTime>) -> String {
    let now = match current {
        Some(t) => say!(lang, "digest-now-on", time = t.format("%H:%M")),
        None => say!(lang, "digest-now-off"),
    };
    format!("{}\n{now}", say!(lang, "digest-usage"))
}

/// `/digest on TIME` with a time that is not one.
pub(crate) fn digest_bad_time(lang: Lang, given: &str) -> String {
    say!(lang, "digest-bad-time", given = echo(&[given]))
}

/// The first line of a digest, `part` of `parts` messages.
pub(crate) fn digest_heading(
    lang: Lang,
    day: NaiveDate,
    count: usize,
    part: u32,
    parts: u32,
) -> String {
    let part = if parts > 1 {
        format!(" ({part}/{parts})")
    } else {
        String::new()
    };
    say!(
        lang,
        "digest-heading",
        day = day.format("%Y-%m-%d"),
        count = count,
        part = part
    )
}

pub(crate) fn stopped(lang: Lang) -> String {
    say!(lang, "stopped")
}

pub(crate) fn not_subscribed(lang: Lang) -> String {
    say!(lang, "not-subscribed")
}

/// A group member who is not an administrator tried to change the group's subscriptions.
pub(crate) fn group_admins_only(lang: Lang) -> String {
    say!(lang, "group-admins-only")
}

/// An operator command from someone who is not in `telegram.admins`.
pub(crate) fn operators_only(lang: Lang) -> String {
    say!(lang, "operators-only")
}

pub(crate) fn slow_down_plain(lang: Lang, seconds: u64) -> String {
    say!(lang, "slow-down", seconds = seconds)
}
