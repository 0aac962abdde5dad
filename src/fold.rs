//! Folding text for matching: NFKC, Latin lower-cased, whitespace and punctuation removed, so
//! that "AI 반도체", "AI·반도체" and "ＡＩ반도체" all read "ai반도체". One leaf module, because the
//! classifier, the config's keyword checks, the same-release title keys and the bot's topic names
//! must all fold the same way.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Text prepared for matching: its NFKC form, the folded form the automaton searches, and where
/// in the NFKC form each part of the folded form came from.
#[derive(Debug, Default)]
pub struct Normalized {
    pub nfkc: String,
    pub folded: String,
    /// Checkpoints, ascending by `folded`: what a byte of `folded` maps to is decided by the last
    /// mark at or before it. Runs copied as they are (ASCII letters and digits, Hangul) need one
    /// mark each, where a skipped character shifted them, instead of one entry per byte — the
    /// per-byte map was four bytes written for every byte of text.
    marks: Vec<Mark>,
}

/// From `folded` on, folded bytes come from the NFKC text at `nfkc` onwards, byte for byte —
/// or, when `whole`, all from the one NFKC character at `nfkc` (a character folded on its own,
/// whose folded form may differ in length).
#[derive(Debug, Clone, Copy)]
struct Mark {
    folded: u32,
    nfkc: u32,
    whole: bool,
}

/// Whitespace and punctuation that never break a match.
pub fn is_ignorable(c: char) -> bool {
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
/// ministry's text) take a fast path over the bytes: they are their own NFKC form, so runs of
/// them are copied into `nfkc` whole; any other character is NFKC-normalised on its own, which
/// maps full-width forms, compatibility punctuation and the like exactly as whole-text NFKC does.
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized::default();
    normalize_into(text, &mut out);
    out
}

/// [`normalize`] into buffers that are reused (their contents replaced).
pub fn normalize_into(text: &str, out: &mut Normalized) {
    let Normalized {
        nfkc,
        folded,
        marks,
    } = out;
    nfkc.clear();
    folded.clear();
    marks.clear();
    nfkc.reserve(text.len());
    folded.reserve(text.len());
    // About one mark a word.
    marks.reserve(text.len() / 8);
    let bytes = text.as_bytes();
    // `text[run..i]` is already NFKC and not yet copied into `nfkc`; a character at byte `i`
    // of `text` sits at `i - run + nfkc.len()` in `nfkc`.
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            // ASCII punctuation, whitespace and controls are all ignorable; letters and digits
            // are copied lower-cased, with one mark for the run.
            if b.is_ascii_alphanumeric() {
                copied(marks, folded.len(), i - run + nfkc.len());
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    folded.push(bytes[i].to_ascii_lowercase() as char);
                    i += 1;
                }
            } else {
                i += 1;
            }
            continue;
        }
        if is_hangul_syllable(bytes, i) {
            copied(marks, folded.len(), i - run + nfkc.len());
            // A syllable at a time: words are a few syllables long, and a copy of known
            // length is cheaper than a call to copy a short run.
            while is_hangul_syllable(bytes, i) {
                folded.push_str(&text[i..i + 3]);
                i += 3;
            }
            continue;
        }
        let c = text[i..]
            .chars()
            .next()
            .expect("a character at a char boundary");
        let len = c.len_utf8();
        if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            // Stays in the run: nfkc[at..at + len] is c.
            fold_char(c, i - run + nfkc.len(), folded, marks);
        } else {
            nfkc.push_str(&text[run..i]);
            run = i + len;
            let start = nfkc.len();
            nfkc.extend(std::iter::once(c).nfkc());
            let end = nfkc.len();
            let mut offset = start;
            while offset < end {
                let d = nfkc[offset..].chars().next().expect("within nfkc");
                fold_char(d, offset, folded, marks);
                offset += d.len_utf8();
            }
        }
        i += len;
    }
    nfkc.push_str(&text[run..]);
}

/// Whether a Hangul syllable (U+AC00..=U+D7A3, `EA B0 80 ..= ED 9E A3` in UTF-8) starts at
/// byte `i`: its own NFKC form and its own folded form.
fn is_hangul_syllable(bytes: &[u8], i: usize) -> bool {
    // `bytes` is UTF-8 (a `str`): after a lead byte come its continuation bytes, so the lead
    // byte decides, but at the two ends of the block.
    match bytes.get(i..i + 3) {
        Some(&[0xEB | 0xEC, _, _]) => true,
        Some(&[0xEA, b1, _]) => b1 >= 0xB0,
        Some(&[0xED, b1, b2]) => b1 < 0x9E || (b1 == 0x9E && b2 <= 0xA3),
        _ => false,
    }
}

/// Notes that folded bytes from `folded_at` on are NFKC bytes from `nfkc_at` on, unless the
/// last mark already says so.
fn copied(marks: &mut Vec<Mark>, folded_at: usize, nfkc_at: usize) {
    if let Some(last) = marks.last()
        && !last.whole
        && last.nfkc as usize + (folded_at - last.folded as usize) == nfkc_at
    {
        return;
    }
    marks.push(Mark {
        folded: folded_at as u32,
        nfkc: nfkc_at as u32,
        whole: false,
    });
}

/// Folds one NFKC character found at `at` in the NFKC text.
fn fold_char(d: char, at: usize, folded: &mut String, marks: &mut Vec<Mark>) {
    if is_ignorable(d) {
        return;
    }
    // Combining marks are dropped: removing punctuation between two of them would leave a
    // sequence that is not normalised (and folding would not be idempotent).
    for lower in d.to_lowercase().filter(|l| !is_combining_mark(*l)) {
        marks.push(Mark {
            folded: folded.len() as u32,
            nfkc: at as u32,
            whole: true,
        });
        folded.push(lower);
    }
}

impl Normalized {
    /// The byte range in `nfkc` covered by `folded[start..end]` (`start` on a character of
    /// `folded`, `end` after one): from the start of the NFKC character the first folded byte
    /// came from to the end of the one the last came from.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        let from = self.origin(start);
        let mut to = self.origin(end - 1) + 1;
        while !self.nfkc.is_char_boundary(to) {
            to += 1;
        }
        (from, to)
    }

    /// Where in `nfkc` folded byte `at` came from (within its character, for a copied run).
    fn origin(&self, at: usize) -> usize {
        let mark = self.marks[self.marks.partition_point(|m| m.folded as usize <= at) - 1];
        if mark.whole {
            mark.nfkc as usize
        } else {
            mark.nfkc as usize + (at - mark.folded as usize)
        }
    }
}

/// The first `n` characters of `text` (all of it when it has fewer). Counts lead bytes rather
/// than decoding characters: every item's summary is cut this way several times (when it is
/// read, classified and archived).
pub fn first_chars(text: &str, n: usize) -> &str {
    if text.len() <= n {
        return text; // never more characters than bytes
    }
    // Not a UTF-8 continuation byte (10xxxxxx): a character starts here.
    let starts = |b: &u8| (*b as i8) >= -0x40;
    let bytes = text.as_bytes();
    // Whole chunks while they cannot hold the cut (a count the compiler vectorises), then
    // byte by byte.
    const CHUNK: usize = 32;
    let mut count = 0;
    let mut i = 0;
    while i + CHUNK <= bytes.len() {
        let in_chunk = bytes[i..i + CHUNK].iter().filter(|b| starts(b)).count();
        if count + in_chunk > n {
            break;
        }
        count += in_chunk;
        i += CHUNK;
    }
    for (at, b) in bytes.iter().enumerate().skip(i) {
        if starts(b) {
            if count == n {
                return &text[..at];
            }
            count += 1;
        }
    }
    text
}

/// The folded form of a keyword (what the automaton searches for).
pub fn fold_keyword(keyword: &str) -> String {
    normalize(keyword.trim_end_matches('*')).folded
}

#[cfg(test)]
mod tests {
    use super::first_chars;

    #[test]
    fn first_chars_counts_characters_not_bytes() {
        let long = ["가나다".repeat(30), "ab가c".repeat(20), "é가👀z".repeat(15)];
        let short = ["", "a", "가", "가나다", "ab가c", "é가👀z"];
        // Longer ones go through the chunked count too, with the cut in every position.
        for text in short.into_iter().chain(long.iter().map(String::as_str)) {
            for n in 0..text.chars().count() + 2 {
                let expected: String = text.chars().take(n).collect();
                assert_eq!(first_chars(text, n), expected, "{text:?} {n}");
            }
        }
    }
}
