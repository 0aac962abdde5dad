//! Folding text for matching: NFKC, Latin lower-cased, whitespace and punctuation removed, so
//! that "AI 반도체", "AI·반도체" and "ＡＩ반도체" all read "ai반도체". One leaf module, because the
//! classifier, the config's keyword checks, the same-release title keys and the bot's topic names
//! must all fold the same way.

use std::hint::select_unpredictable;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Text prepared for matching: the folded form and where it came from.
#[derive(Debug, Default)]
pub struct Normalized {
    /// The NFKC text and the map from folded bytes back into it.
    pub origins: Origins,
    pub folded: String,
}

/// The NFKC form of a text and where in it each part of the folded form came from: what a scan
/// needs to report a match in the text as written, without the folded text itself (the
/// classifier folds and scans in one pass, [`fold_into`]).
#[derive(Debug, Default)]
pub struct Origins {
    pub nfkc: String,
    /// Checkpoints, ascending by folded offset: what a folded byte maps to is decided by the
    /// last mark at or before it. Runs copied as they are (ASCII letters and digits, Hangul) need
    /// one mark each, where a skipped character shifted them, instead of one entry per byte.
    /// The first `kept` are this text's; the rest is room, written before it is counted (see
    /// [`fold_into`]), and kept for the next text: 8 bytes per byte of the longest text folded
    /// with these origins (a classifier's are an item's title or read summary, a few KB).
    marks: Vec<Mark>,
    kept: usize,
    /// Characters found to be their own NFKC form, by their code modulo the length: the same
    /// few (`·`, `「`, `」`) come back in every text, and asking the tables costs more than the
    /// rest of folding them.
    stable: [char; 32],
    /// Bytes of the folded text.
    folded_len: usize,
    /// The folded characters of one character off the fast path, with their folded ends:
    /// handed to the sink by the loop itself, so that the sink's state stays in registers
    /// (it would not, were the sink passed to a function that is not inlined).
    pending: Vec<(char, usize)>,
}

/// From `folded` on, folded bytes come from the NFKC text at `nfkc` onwards, byte for byte —
/// or, when [`Mark::WHOLE`] is set in `nfkc`, all from the one NFKC character at the rest of
/// `nfkc` (a character folded on its own, whose folded form may differ in length). Two words,
/// so that the fast path writes a mark in one store.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    folded: u32,
    nfkc: u32,
}

/// Receives the folded text a character at a time, with the folded (UTF-8) offset just past
/// it.
///
/// Most of a ministry's text (ASCII and Hangul syllables) comes through [`Sink::fast`], every
/// character of it, punctuation and whitespace included: one path without a branch on what kind
/// of character it is, because in Korean text the kind changes every few characters (a word, a
/// space) and a mispredicted branch costs more than the rest of the work on a character.
pub trait Sink {
    /// A character of the fast path by its [`FastIndex`]; `end` is unchanged from the last
    /// call when it folds to nothing (ASCII whitespace and punctuation).
    fn fast(&mut self, index: FastIndex, end: usize);
    /// Any other folded character (it may be ASCII or Hangul: a full-width letter, a
    /// compatibility character).
    fn other(&mut self, c: char, end: usize);
}

/// A character of the fast path: an ASCII byte as it is (any case; it folds to its lower case,
/// or to nothing when it is not a letter or digit), or `128 +` a Hangul syllable's place in its
/// block (U+AC00..=U+D7A3, 11,172 of them).
pub type FastIndex = usize;

/// How many [`FastIndex`] values there are.
pub const FAST_INDICES: usize = 128 + HANGUL_SYLLABLES;
const HANGUL_FIRST: u32 = 0xAC00;
const HANGUL_SYLLABLES: usize = 11_172;

/// The character at a [`FastIndex`], and whether it folds to itself (else to nothing).
pub fn fast_char(index: FastIndex) -> (char, bool) {
    if index < 128 {
        let c = char::from(index as u8).to_ascii_lowercase();
        (c, c.is_ascii_alphanumeric())
    } else {
        let c = char::from_u32(HANGUL_FIRST + (index - 128) as u32).unwrap_or_default();
        (c, true)
    }
}

/// The [`FastIndex`] of a folded character, if it has one.
pub fn fast_index(c: char) -> Option<FastIndex> {
    if c.is_ascii() {
        return Some(c as usize);
    }
    let place = (c as u32).wrapping_sub(HANGUL_FIRST) as usize;
    (place < HANGUL_SYLLABLES).then_some(128 + place)
}

/// The folded text as a string: what [`normalize`] produces.
impl Sink for String {
    #[inline]
    fn fast(&mut self, index: FastIndex, _end: usize) {
        let (c, kept) = fast_char(index);
        if kept {
            self.push(c);
        }
    }

    #[inline]
    fn other(&mut self, c: char, _end: usize) {
        self.push(c);
    }
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

/// Normalises text for matching, in one pass (see [`fold_into`]).
pub fn normalize(text: &str) -> Normalized {
    let mut out = Normalized::default();
    normalize_into(text, &mut out);
    out
}

/// [`normalize`] into buffers that are reused (their contents replaced).
pub fn normalize_into(text: &str, out: &mut Normalized) {
    out.folded.clear();
    out.folded.reserve(text.len());
    fold_into(text, &mut out.origins, &mut out.folded);
}

/// Folds `text`, handing each folded character to `sink` and recording the NFKC text and the
/// origins in `origins` (contents replaced). ASCII and Hangul syllables (almost all of a
/// ministry's text) take a fast path over the bytes: they are their own NFKC form, so runs of
/// them are copied into the NFKC text whole; any other character is NFKC-normalised on its own,
/// which maps full-width forms, compatibility punctuation and the like exactly as whole-text
/// NFKC does. Offsets are kept in 31 bits: texts up to 2 GiB (item fields are a few KB; a
/// fetched body is capped far below).
pub fn fold_into(text: &str, origins: &mut Origins, sink: &mut impl Sink) {
    let Origins {
        nfkc,
        marks,
        kept: kept_marks,
        folded_len,
        stable,
        pending,
    } = origins;
    nfkc.clear();
    nfkc.reserve(text.len());
    let bytes = text.as_bytes();
    // The fast path writes its marks into a slice held in registers (pushing onto the vector
    // stored and reloaded its length at every character): there is room for one mark per byte
    // left, the most it can make, and the slow path makes room again after each character.
    let mut kept = 0;
    make_room(marks, kept, bytes.len());
    let mut room = &mut marks[..];
    // Folded bytes so far.
    let mut folded = 0;
    // `text[run..i]` is already NFKC and not yet copied into `nfkc`; a character at byte `i`
    // of `text` sits at `i + nfkc.len() - run` in `nfkc`: `i` plus `moved` (wrapping).
    let mut run = 0;
    let mut moved = 0usize;
    // For the characters the last mark maps byte for byte, NFKC offset minus folded offset,
    // plus 2^32 (offsets are below 2^31: never negative, never `NO_SHIFT`); `NO_SHIFT` when
    // the last mark is not of that kind (or there is none).
    const NO_SHIFT: u64 = u64::MAX;
    let mut shift = NO_SHIFT;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // Decoded as a three-byte character whatever it is; used only when it is one.
        let (b1, b2) = match bytes.get(i + 1..i + 3) {
            Some(&[b1, b2]) => (b1, b2),
            _ => (bytes.get(i + 1).copied().unwrap_or(0), 0),
        };
        let code = (u32::from(b & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
        let place = code.wrapping_sub(HANGUL_FIRST) as usize;
        // `b` is a three-byte lead in valid UTF-8, so `b1` and `b2` are its own.
        // (`&` and `|`, not `&&` and `||`: one branch, not one on ASCII or not.)
        let hangul = ((b & 0xF0) == 0xE0) & (place < HANGUL_SYLLABLES);
        if !((b < 0x80) | hangul) {
            let state = Other {
                run: &mut run,
                folded: &mut folded,
                nfkc,
                marks: Marks {
                    marks,
                    kept: &mut kept,
                },
                stable,
                pending,
            };
            i += other_char(text, i, state);
            for &(c, end) in pending.iter() {
                sink.other(c, end);
            }
            shift = NO_SHIFT;
            moved = nfkc.len().wrapping_sub(run);
            make_room(marks, kept, bytes.len() - i);
            room = &mut marks[..];
            continue;
        }
        // ASCII and Hangul are their own NFKC form: they stay in the run, byte for byte.
        let at = i.wrapping_add(moved);
        let index = select_unpredictable(hangul, 128 + place, usize::from(b));
        let len = select_unpredictable(hangul, 3, 1);
        let width =
            select_unpredictable(hangul, 3, usize::from(ASCII_WIDTH[usize::from(b & 0x7F)]));
        // A mark where the mapping changes (at a word, after whitespace), written every time
        // and kept only then: a branch here would be mispredicted at every word.
        let here = (at as u64 + (1 << 32)) - folded as u64;
        let new = (width != 0) & (shift != here);
        room[kept] = Mark {
            folded: folded as u32,
            nfkc: at as u32,
        };
        kept += usize::from(new);
        shift = select_unpredictable(new, here, shift);
        folded += width;
        sink.fast(index, folded);
        i += len;
    }
    nfkc.push_str(&text[run..]);
    *kept_marks = kept;
    *folded_len = folded;
}

/// Makes room in `marks` for one mark per byte of the `left` bytes of text, after the `kept`
/// marks so far (and one more: the fast path writes a mark before it knows whether to keep it).
fn make_room(marks: &mut Vec<Mark>, kept: usize, left: usize) {
    let needed = kept + left + 1;
    if marks.len() < needed {
        marks.resize(needed, Mark::default());
    }
}

/// The folded length of each ASCII character: 1 for a letter or digit, 0 for the rest (a load
/// instead of the comparisons of `is_ascii_alphanumeric` in the loop).
static ASCII_WIDTH: [u8; 128] = {
    let mut width = [0; 128];
    let mut b = 0;
    while b < 128 {
        width[b] = (b as u8).is_ascii_alphanumeric() as u8;
        b += 1;
    }
    width
};

/// What [`other_char`] updates of [`fold_into`]'s state.
struct Other<'a> {
    run: &'a mut usize,
    folded: &'a mut usize,
    nfkc: &'a mut String,
    marks: Marks<'a>,
    stable: &'a mut [char; 32],
    pending: &'a mut Vec<(char, usize)>,
}

/// Folds the character at byte `i` of `text`, one that is neither ASCII nor a Hangul syllable,
/// into `pending`, and returns its length.
#[cold]
fn other_char(text: &str, i: usize, state: Other<'_>) -> usize {
    let Other {
        run,
        folded,
        nfkc,
        mut marks,
        stable,
        pending,
    } = state;
    pending.clear();
    let c = text[i..]
        .chars()
        .next()
        .expect("a character at a char boundary");
    let len = c.len_utf8();
    let slot = c as usize % stable.len();
    let is_stable = stable[slot] == c || {
        let yes = is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes;
        if yes {
            stable[slot] = c;
        }
        yes
    };
    if is_stable {
        // Stays in the run: nfkc[at..at + len] is c.
        fold_char(c, i + nfkc.len() - *run, folded, &mut marks, pending);
    } else {
        nfkc.push_str(&text[*run..i]);
        *run = i + len;
        let start = nfkc.len();
        nfkc.extend(std::iter::once(c).nfkc());
        let end = nfkc.len();
        let mut offset = start;
        while offset < end {
            let d = nfkc[offset..].chars().next().expect("within nfkc");
            fold_char(d, offset, folded, &mut marks, pending);
            offset += d.len_utf8();
        }
    }
    len
}

/// The marks of a text being folded: the first `kept` of the buffer.
struct Marks<'a> {
    marks: &'a mut Vec<Mark>,
    kept: &'a mut usize,
}

impl Marks<'_> {
    fn push(&mut self, mark: Mark) {
        if *self.kept == self.marks.len() {
            self.marks.push(mark);
        } else {
            self.marks[*self.kept] = mark;
        }
        *self.kept += 1;
    }
}

/// Folds one NFKC character found at `at` in the NFKC text.
fn fold_char(
    d: char,
    at: usize,
    folded: &mut usize,
    marks: &mut Marks<'_>,
    out: &mut Vec<(char, usize)>,
) {
    if is_ignorable(d) {
        return;
    }
    // Combining marks are dropped: removing punctuation between two of them would leave a
    // sequence that is not normalised (and folding would not be idempotent).
    for lower in d.to_lowercase().filter(|l| !is_combining_mark(*l)) {
        marks.push(Mark {
            folded: *folded as u32,
            nfkc: at as u32 | Mark::WHOLE,
        });
        *folded += lower.len_utf8();
        out.push((lower, *folded));
    }
}

impl Origins {
    /// A [`Resolver`] over these origins.
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver {
            origins: self,
            mark: 0,
        }
    }

    /// The folded byte range made from `nfkc[from..to]`: the inverse of
    /// [`Resolver::original_range`], for ranges of the NFKC text that start and end with a
    /// character that folds to something. Walks every mark (for the rare text that needs it:
    /// a reading of coordinated words mapped back onto its field).
    pub fn folded_range(&self, from: usize, to: usize) -> (usize, usize) {
        let marks = &self.marks[..self.kept];
        let mut start = None;
        let mut end = 0;
        for (i, mark) in marks.iter().enumerate() {
            let run_start = mark.folded as usize;
            let run_end = marks
                .get(i + 1)
                .map_or(self.folded_len, |next| next.folded as usize);
            if mark.nfkc & Mark::WHOLE != 0 {
                // One character, all of whose folded bytes come from `at`.
                let at = (mark.nfkc & !Mark::WHOLE) as usize;
                if at >= from && start.is_none() {
                    start = Some(run_start);
                }
                if at < to {
                    end = run_end;
                }
            } else {
                // Byte for byte: folded `run_start + k` is NFKC `mark.nfkc + k`.
                let at = mark.nfkc as usize;
                let len = run_end - run_start;
                if at + len > from && start.is_none() {
                    start = Some(run_start + from.saturating_sub(at));
                }
                if at < to {
                    end = end.max(run_start + (to - at).min(len));
                }
            }
        }
        let start = start.unwrap_or(self.folded_len);
        (start, end.max(start))
    }
}

impl Mark {
    /// Set in `nfkc` for a mark of a character folded on its own.
    const WHOLE: u32 = 1 << 31;

    /// Where in the NFKC text folded byte `at` came from, `at` being at or after this mark
    /// and before the next.
    fn origin(self, at: usize) -> usize {
        if self.nfkc & Mark::WHOLE != 0 {
            (self.nfkc & !Mark::WHOLE) as usize
        } else {
            self.nfkc as usize + (at - self.folded as usize)
        }
    }
}

/// Maps ranges of the folded text to the NFKC text. Made for ranges that come in the order of
/// their end, as a scan finds them: the marks are walked from where the last range ended
/// instead of searched twice for every range (a few steps each, where two binary searches
/// mispredict most of their branches). A range out of that order is searched for.
pub struct Resolver<'a> {
    origins: &'a Origins,
    /// The mark of the last range's last byte.
    mark: usize,
}

impl Resolver<'_> {
    /// The byte range in `nfkc` covered by `folded[start..end]` (`start` on a character of
    /// `folded`, `end` after one): from the start of the NFKC character the first folded byte
    /// came from to the end of the one the last came from.
    pub fn original_range(&mut self, start: usize, end: usize) -> (usize, usize) {
        let Origins {
            nfkc, marks, kept, ..
        } = self.origins;
        let marks = &marks[..*kept];
        let last = end - 1;
        // The last mark at or before `last`, and the last one at or before `start` (there is
        // a mark at folded byte 0: the first character that folds to something makes one).
        let mut k = self.mark;
        if marks[k].folded as usize > last {
            k = marks.partition_point(|m| m.folded as usize <= last) - 1;
        }
        while marks.get(k + 1).is_some_and(|m| m.folded as usize <= last) {
            k += 1;
        }
        self.mark = k;
        let mut j = k;
        while marks[j].folded as usize > start {
            j -= 1;
        }
        let from = marks[j].origin(start);
        let mut to = marks[k].origin(last) + 1;
        while !nfkc.is_char_boundary(to) {
            to += 1;
        }
        (from, to)
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

    /// `folded_range` undoes `original_range`: for every range of whole folded characters, the
    /// NFKC range it came from maps back to a folded range that covers it and comes from the
    /// same NFKC range (a character folded on its own is covered whole).
    #[test]
    fn folded_ranges_undo_original_ranges() {
        for text in [
            "인공지능·소프트웨어(AI·SW) 인재를 찾습니다",
            "ＡＩ 반도체, ﬁle 「K-문샷」 ㈜퓨리오사 Ⅳ단계",
            "  (참고자료) 2025 국제 AI 표준 서밋 ",
            "é가👀z AI신뢰·안전성",
        ] {
            let n = super::normalize(text);
            let bounds: Vec<usize> = n
                .folded
                .char_indices()
                .map(|(i, _)| i)
                .chain([n.folded.len()])
                .collect();
            for (a, &start) in bounds.iter().enumerate() {
                for &end in &bounds[a + 1..] {
                    let original = n.origins.resolver().original_range(start, end);
                    let (from, to) = n.origins.folded_range(original.0, original.1);
                    assert!(
                        from <= start && to >= end,
                        "{text:?} {start}..{end} → {from}..{to}"
                    );
                    assert_eq!(
                        n.origins.resolver().original_range(from, to),
                        original,
                        "{text:?} {start}..{end}"
                    );
                }
            }
        }
    }
}
