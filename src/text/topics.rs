//! Answers about topics and subscriptions: the topic list and its buttons, /subscribe,
//! /unsubscribe, /mysubs.

use chrono::NaiveTime;
use html_escape::encode_text;

use super::catalogue::say;
use super::lists::{echo, named_lines, names_list};
use crate::records::Lang;

/// A topic as listed: name and hashtag.
pub(crate) struct TopicLine {
    pub id: String,
    pub name: String,
    pub hashtag: String,
    pub subscribed: bool,
}

fn mark(subscribed: bool) -> &'static str {
    if subscribed { "✅" } else { "▫️" }
}

pub(crate) fn topics(lang: Lang, topics: &[TopicLine]) -> String {
    let mut out = say!(lang, "topics-heading");
    out.push_str("\n\n");
    for t in topics {
        out.push_str(&format!(
            "{} {} {} <code>{}</code>\n",
            mark(t.subscribed),
            encode_text(&t.name),
            encode_text(&t.hashtag),
            encode_text(&t.id)
        ));
    }
    out
}

/// Label of a topic's toggle button (plain text).
pub(crate) fn toggle_label_plain(name: &str, subscribed: bool) -> String {
    format!("{} {name}", mark(subscribed))
}

/// Answer to a tap on a topic button (plain text, shown as a toast).
pub(crate) fn toggled_plain(lang: Lang, name: &str, subscribed: bool) -> String {
    if subscribed {
        say!(lang, "toggled-on", topic = name)
    } else {
        say!(lang, "toggled-off", topic = name)
    }
}

pub(crate) fn topic_gone_plain(lang: Lang) -> String {
    say!(lang, "topic-gone")
}

pub(crate) fn subscribed(lang: Lang, added: &[&str], already: &[&str], all: &[&str]) -> String {
    let lines = named_lines(&[
        (say!(lang, "subscribed-added"), added),
        (say!(lang, "subscribed-already"), already),
    ]);
    format!(
        "{}\n\n{}\n{}",
        lines.join("\n"),
        say!(lang, "your-topics-now"),
        names_list(all)
    )
}

pub(crate) fn unsubscribed(
    lang: Lang,
    removed: &[&str],
    not_subscribed: &[&str],
    all: &[&str],
) -> String {
    let rest = if all.is_empty() {
        say!(lang, "no-topics-left")
    } else {
        format!("{}\n{}", say!(lang, "your-topics-now"), names_list(all))
    };
    let lines = named_lines(&[
        (say!(lang, "unsubscribed-removed"), removed),
        (say!(lang, "unsubscribed-not-subscribed"), not_subscribed),
    ]);
    format!("{}\n\n{rest}", lines.join("\n"))
}

/// Words of a command that name no topic, or several: the valid ones are listed. `changes`:
/// the command would have changed the subscription (and did not).
pub(crate) fn unknown_topics(
    lang: Lang,
    unknown: &[&str],
    ambiguous: &[(String, Vec<String>)],
    valid: &[TopicLine],
    changes: bool,
) -> String {
    let list = valid
        .iter()
        .map(|t| {
            format!(
                "• <code>{}</code> {}",
                encode_text(&t.id),
                encode_text(&t.name)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut lines = Vec::new();
    if !unknown.is_empty() {
        lines.push(say!(lang, "unknown-topic", words = echo(unknown)));
    }
    for (word, names) in ambiguous.iter().take(4) {
        let names = encode_text(&names.join(", ")).into_owned();
        lines.push(say!(
            lang,
            "ambiguous-topic",
            word = echo(&[word]),
            topics = names
        ));
    }
    if changes {
        lines.push(say!(lang, "nothing-changed"));
    }
    format!(
        "{}\n{}\n{list}\n{}",
        lines.join("\n"),
        say!(lang, "valid-topics"),
        say!(lang, "or-all")
    )
}

pub(crate) fn subscribe_usage(lang: Lang, valid: &[TopicLine]) -> String {
    format!(
        "{}\n\n{}",
        say!(lang, "subscribe-usage"),
        topics(lang, valid)
    )
}

pub(crate) fn mysubs(
    lang: Lang,
    names: &[&str],
    watch: &[&str],
    digest: Option<NaiveTime>,
) -> String {
    if names.is_empty() && watch.is_empty() {
        return say!(lang, "mysubs-nothing");
    }
    let mode = match digest {
        Some(t) => say!(lang, "delivery-digest", time = t.format("%H:%M")),
        None => say!(lang, "delivery-each"),
    };
    let topics = if names.is_empty() {
        say!(lang, "mysubs-no-topics")
    } else {
        names_list(names)
    };
    let mut out = format!("{}\n{topics}", say!(lang, "mysubs-heading"));
    if !watch.is_empty() {
        out.push_str(&format!(
            "\n\n{}\n{}",
            say!(lang, "mysubs-watch-words"),
            names_list(watch)
        ));
    }
    out.push_str(&format!("\n\n{mode}"));
    out
}
