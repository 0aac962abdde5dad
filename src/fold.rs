//! Folding text for matching: NFKC, Latin lower-cased, whitespace and punctuation removed, so
//! that "AI 반도체", "AI·반도체" and "ＡＩ반도체" all read "ai반도체". One leaf module, because the
//! classifier, the config's keyword checks, the same-release title keys and the bot's topic names
//! must all fold the same way.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Text prepared for matching: its NFKC form, the folded form the automaton searches, and for
/// each byte of the folded form the start of the NFKC character it came from.
#[derive(Debug)]
pub struct Normalized {
    pub nfkc: String,
    pub folded: String,
    origin: Vec<u32>,
}

/// Whitespace and punctuation that never break a match.
pub(crate) fn is_ignorable(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '·' | '・'
                | '‧'
                | '∙'
                | '•'
                | '‐'
                | '‑'
                | '‒'
                | '–'
                | '—'
                | '―'
                | '「'
                | '」'
                | '『'
                | '』'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '〈'
                | '〉'
                | '《'
                | '》'
                | '【'
                | '】'
                | '〔'
                | '〕'
                | '…'
                | '、'
                | '。'
                | '〃'
                | '〜'
                | '～'
                | '※'
                | '▲'
                | '△'
                | '▶'
                | '■'
                | '□'
                | '○'
                | '●'
        )
        || c.is_control()
}

/// Latin letters and digits are the characters whose keyword edges need a word boundary.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Normalises text for matching, in one pass. ASCII and Hangul syllables (almost all of a
/// ministry's text) take a fast path; any other character is NFKC-normalised on its own, which
/// maps full-width forms, compatibility punctuation and the like exactly as whole-text NFKC does.
pub fn normalize(text: &str) -> Normalized {
    let mut nfkc = String::with_capacity(text.len());
    let mut folded = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len());
    for c in text.chars() {
        let at = nfkc.len();
        if c.is_ascii() {
            nfkc.push(c);
            // ASCII punctuation, whitespace and controls are all ignorable.
            if c.is_ascii_alphanumeric() {
                origin.push(at as u32);
                folded.push(c.to_ascii_lowercase());
            }
            continue;
        }
        if ('가'..='힣').contains(&c) {
            nfkc.push(c);
            origin.extend([at as u32; 3]);
            folded.push(c);
            continue;
        }
        if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            nfkc.push(c);
        } else {
            nfkc.extend(std::iter::once(c).nfkc());
        }
        for (offset, d) in nfkc[at..].char_indices() {
            if is_ignorable(d) {
                continue;
            }
            // Combining marks are dropped: removing punctuation between two of them would leave
            // a sequence that is not normalised (and folding would not be idempotent).
            for lower in d.to_lowercase().filter(|l| !is_combining_mark(*l)) {
                for _ in 0..lower.len_utf8() {
                    origin.push((at + offset) as u32);
                }
                folded.push(lower);
            }
        }
    }
    Normalized {
        nfkc,
        folded,
        origin,
    }
}

impl Normalized {
    /// The byte range in `nfkc` covered by `folded[start..end]`.
    pub(crate) fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        let from = self.origin[start] as usize;
        let last = self.origin[end - 1] as usize;
        let to = last + self.nfkc[last..].chars().next().map_or(0, char::len_utf8);
        (from, to)
    }
}

/// The folded form of a keyword (what the automaton searches for).
pub fn fold_keyword(keyword: &str) -> String {
    normalize(keyword.trim_end_matches('*')).folded
}
