//! Folding text for matching: NFKC, Latin lower-cased, whitespace and punctuation removed, so
//! that "AI 반도체", "AI·반도체" and "ＡＩ반도체" all read "ai반도체". One leaf module, because the
//! classifier, the config's keyword checks, the same-release title keys and the bot's topic names
//! must all fold the same way.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Text prepared for matching: its NFKC form, the folded form the automaton searches, and for
/// each byte of the folded form the start of the NFKC character it came from.
#[derive(Debug, Default)]
pub struct Normalized {
    pub nfkc: String,
    pub folded: String,
    origin: Vec<u32>,
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
    let mut out = Normalized {
        nfkc: String::new(),
        folded: String::new(),
        origin: Vec::new(),
    };
    normalize_into(text, &mut out);
    out
}

/// [`normalize`] into buffers that are reused (their contents replaced).
pub fn normalize_into(text: &str, out: &mut Normalized) {
    let Normalized {
        nfkc,
        folded,
        origin,
    } = out;
    nfkc.clear();
    folded.clear();
    origin.clear();
    nfkc.reserve(text.len());
    folded.reserve(text.len());
    origin.reserve(text.len());
    let bytes = text.as_bytes();
    // `text[run..i]` is already NFKC and not yet copied into `nfkc`; a character at byte `i`
    // of `text` sits at `i - run + nfkc.len()` in `nfkc`.
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            // ASCII punctuation, whitespace and controls are all ignorable.
            if b.is_ascii_alphanumeric() {
                origin.push((i - run + nfkc.len()) as u32);
                folded.push(b.to_ascii_lowercase() as char);
            }
            i += 1;
            continue;
        }
        // Hangul syllables U+AC00..=U+D7A3 are EA B0 80 ..= ED 9E A3 in UTF-8.
        if (0xEA..=0xED).contains(&b)
            && let Some(&[b1, b2]) = bytes.get(i + 1..i + 3)
        {
            let c =
                (u32::from(b & 0x0f) << 12) | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f);
            if (0xAC00..=0xD7A3).contains(&c) {
                let at = (i - run + nfkc.len()) as u32;
                origin.extend([at; 3]);
                folded.push_str(&text[i..i + 3]);
                i += 3;
                continue;
            }
        }
        let c = text[i..]
            .chars()
            .next()
            .expect("a character at a char boundary");
        let len = c.len_utf8();
        let start;
        if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            start = i - run + nfkc.len();
            // Stays in the run: nfkc[start..start + len] is c.
            fold_char(c, start, folded, origin);
        } else {
            nfkc.push_str(&text[run..i]);
            run = i + len;
            start = nfkc.len();
            nfkc.extend(std::iter::once(c).nfkc());
            let end = nfkc.len();
            let mut offset = start;
            while offset < end {
                let d = nfkc[offset..].chars().next().expect("within nfkc");
                fold_char(d, offset, folded, origin);
                offset += d.len_utf8();
            }
        }
        i += len;
    }
    nfkc.push_str(&text[run..]);
}

/// Folds one NFKC character found at `at` in the NFKC text.
fn fold_char(d: char, at: usize, folded: &mut String, origin: &mut Vec<u32>) {
    if is_ignorable(d) {
        return;
    }
    // Combining marks are dropped: removing punctuation between two of them would leave a
    // sequence that is not normalised (and folding would not be idempotent).
    for lower in d.to_lowercase().filter(|l| !is_combining_mark(*l)) {
        for _ in 0..lower.len_utf8() {
            origin.push(at as u32);
        }
        folded.push(lower);
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
