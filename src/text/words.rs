//! Answers about typed words: watch words (/watch, /unwatch, /watches), /search, and why a word
//! was refused.

use html_escape::encode_text;

use super::catalogue::say;
use super::lists::{echo_word, named_lines, names_list};
use crate::records::Lang;

/// Why a watch word was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WordRefusal {
    /// Fewer than 2 or more than 40 characters.
    Length { chars: usize },
    /// Nothing to match once spacing and punctuation are ignored.
    NoLetters,
    /// Under two Hangul syllables or three letters: it would be found inside too many words.
    TooShort,
    /// It occurs in `percent` % of the `sample` latest items.
    TooGeneric { percent: u32, sample: usize },
    /// The chat already has `max` words.
    Limit { max: usize },
    /// Nothing but invisible characters (shown by code point).
    Invisible,
    /// One of the initiative's broad words (the classifier's anchors): in most of what is sent.
    Anchor,
    /// More words than one command reads (`read`); `ignored` were not read.
    TooMany { read: usize, ignored: usize },
}

/// A watch word and why it was refused, in the chat's language (HTML).
fn refusal(lang: Lang, word: &str, why: &WordRefusal) -> String {
    let reason = match why {
        WordRefusal::Length { chars } => say!(lang, "refusal-length", chars = chars),
        WordRefusal::NoLetters => say!(lang, "refusal-no-letters"),
        WordRefusal::TooShort => say!(lang, "refusal-too-short"),
        WordRefusal::TooGeneric { percent, sample } => {
            say!(
                lang,
                "refusal-too-generic",
                percent = percent,
                sample = sample
            )
        }
        WordRefusal::Limit { max } => say!(lang, "refusal-limit", max = max),
        WordRefusal::Invisible => say!(lang, "refusal-invisible"),
        WordRefusal::Anchor => say!(lang, "refusal-anchor"),
        // About the command, not one word.
        WordRefusal::TooMany { read, ignored } => {
            return say!(lang, "refusal-too-many", read = read, ignored = ignored);
        }
    };
    format!("✗ {} — {reason}", encode_text(&echo_word(word)))
}

/// The chat's watch words, numbered against the limit (HTML), or how to add some.
pub(crate) fn watches(lang: Lang, words: &[&str], max: usize) -> String {
    if words.is_empty() {
        return say!(lang, "watches-none");
    }
    format!(
        "{}\n{}\n\n{}",
        say!(lang, "watches-heading", count = words.len(), max = max),
        names_list(words),
        say!(lang, "watches-remove")
    )
}

/// `/watch` with no words.
pub(crate) fn watch_usage(lang: Lang, words: &[&str], max: usize) -> String {
    format!(
        "{}\n\n{}",
        say!(lang, "watch-usage"),
        watches(lang, words, max)
    )
}

/// What `/watch` did.
pub(crate) fn watched(
    lang: Lang,
    added: &[&str],
    already: &[&str],
    refused: &[(String, WordRefusal)],
    all: &[&str],
    max: usize,
) -> String {
    let mut lines = named_lines(&[
        (say!(lang, "watched-added"), added),
        (say!(lang, "watched-already"), already),
    ]);
    lines.extend(refused.iter().map(|(w, why)| refusal(lang, w, why)));
    format!("{}\n\n{}", lines.join("\n"), watches(lang, all, max))
}

/// What `/unwatch` did.
pub(crate) fn unwatched(
    lang: Lang,
    removed: &[&str],
    unknown: &[&str],
    all: &[&str],
    max: usize,
) -> String {
    let mut lines = named_lines(&[
        (say!(lang, "unwatched-removed"), removed),
        (say!(lang, "unwatched-unknown"), unknown),
    ]);
    if lines.is_empty() {
        lines.push(say!(lang, "unwatch-usage"));
    }
    format!("{}\n\n{}", lines.join("\n"), watches(lang, all, max))
}

pub(crate) fn watch_disabled(lang: Lang) -> String {
    say!(lang, "watch-disabled")
}

pub(crate) fn search_usage(lang: Lang) -> String {
    say!(lang, "search-usage")
}

/// Heading of a `/search` answer (plain text).
pub(crate) fn search_heading_plain(lang: Lang, query: &str, count: usize) -> String {
    say!(
        lang,
        "search-heading",
        query = echo_word(query),
        count = count
    )
}

pub(crate) fn search_empty(lang: Lang, query: &str, kept: &str) -> String {
    let query = encode_text(&echo_word(query)).into_owned();
    say!(lang, "search-empty", query = query, kept = kept)
}

pub(crate) fn search_refused(lang: Lang, query: &str, why: &WordRefusal) -> String {
    refusal(lang, query, why)
}
