//! How user words and names are listed inside an answer, so that an answer never outgrows a
//! Telegram message (4,096 characters) whatever was typed.

use html_escape::encode_text;

/// Characters of a typed word repeated in an answer at most.
const ECHO_CHARS: usize = 48;

/// A typed word as an answer repeats it: cut to [`ECHO_CHARS`] with "…" (not escaped).
pub(super) fn echo_word(word: &str) -> String {
    crate::items::truncate_chars(word, ECHO_CHARS)
}

/// Words echoed as one comma-separated list (escaped): the first 8, each cut at 30 characters,
/// and how many more.
pub(super) fn echo(words: &[&str]) -> String {
    const MAX_WORDS: usize = 8;
    let mut shown: Vec<String> = words
        .iter()
        .take(MAX_WORDS)
        .map(|w| crate::items::truncate_chars(w, 30))
        .collect();
    if words.len() > MAX_WORDS {
        shown.push(format!("… (+{})", words.len() - MAX_WORDS));
    }
    encode_text(&shown.join(", ")).into_owned()
}

/// Names one per line with a bullet (escaped).
pub(super) fn names_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("• {}", encode_text(n)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "label: a, b" lines for the lists that are not empty; words are echoed, then escaped.
pub(super) fn named_lines(lists: &[(String, &[&str])]) -> Vec<String> {
    lists
        .iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(label, names)| {
            let names: Vec<String> = names.iter().map(|n| echo_word(n)).collect();
            format!("{label}: {}", encode_text(&names.join(", ")))
        })
        .collect()
}
