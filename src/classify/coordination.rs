//! Coordinated words. Korean lists words with a middle dot under one shared word:
//! `인공지능·소프트웨어 인재` is 인공지능 인재 and 소프트웨어 인재, `AI 윤리·안전` is AI 윤리 and AI
//! 안전, `초거대·생성형 인공지능` is 초거대 인공지능. A keyword written out (`AI 인재`,
//! `AI 안전`, `초거대 인공지능`) is found in such a list too: each reading is scanned, and a
//! keyword found across its two pieces counts where the pieces stand in the text, as if it had
//! been written out there — the same field, the same rules, no extra weight.

/// The pairs of folded characters that follow each other in some keyword. A keyword found across
/// a reading's two pieces holds the last character of the first piece and the first of the
/// second side by side; where no keyword holds that pair, the reading is not scanned (most
/// readings are not: each would be a scan of its own).
#[derive(Debug, Default)]
pub(super) struct Junctions(Vec<(char, char)>);

impl Junctions {
    /// The pairs of `folded` keywords.
    pub(super) fn of(folded: &[String]) -> Junctions {
        let mut pairs: Vec<(char, char)> = folded
            .iter()
            .flat_map(|keyword| keyword.chars().zip(keyword.chars().skip(1)))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        Junctions(pairs)
    }

    /// Whether a keyword may run from `first`'s end into `second`'s start. Folding lower-cases
    /// Latin letters; any other character than ASCII and Hangul may fold otherwise, so it is
    /// never ruled out.
    fn may_join(&self, first: &str, second: &str) -> bool {
        let (Some(a), Some(b)) = (
            first.chars().rev().find(|c| c.is_alphanumeric()),
            second.chars().find(|c| c.is_alphanumeric()),
        ) else {
            return false;
        };
        let plain = |c: char| c.is_ascii() || ('가'..='힣').contains(&c);
        !(plain(a) && plain(b))
            || self
                .0
                .binary_search(&(a.to_ascii_lowercase(), b.to_ascii_lowercase()))
                .is_ok()
    }
}

/// The middle dots ministries list words with, as NFKC writes them: `･` becomes `・`, and the
/// Hangul letter `ㆍ` (U+318D), often typed as a dot, becomes the archaic vowel U+119E.
pub(super) const MARKS: [char; 6] = ['·', 'ㆍ', '\u{119E}', '・', '∙', '‧'];

/// Readings made of one text at most: a hostile title of a thousand dots costs no more than a
/// few scans.
const MAX_READINGS: usize = 16;

/// Two pieces of the text read as one phrase, `first second`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reading {
    pub(super) text: String,
    /// Byte ranges of the two pieces in the text the reading was made from.
    pub(super) first: (usize, usize),
    pub(super) second: (usize, usize),
}

impl Reading {
    fn new(text: &str, first: (usize, usize), second: (usize, usize)) -> Reading {
        Reading {
            text: format!("{} {}", &text[first.0..first.1], &text[second.0..second.1]),
            first,
            second,
        }
    }

    /// Maps a range of the reading that starts in the first piece and ends in the second onto
    /// the text (from the start in the first piece to the end in the second); `None` for a
    /// range within one piece (the text itself has it already).
    pub(super) fn across(&self, (from, to): (usize, usize)) -> Option<(usize, usize)> {
        let first_len = self.first.1 - self.first.0;
        let second_at = first_len + 1;
        (from < first_len && to > second_at)
            .then(|| (self.first.0 + from, self.second.0 + (to - second_at)))
    }
}

/// Where the first mark at or after byte `from` of `text` is. The marks' UTF-8 lead bytes
/// (C2, E1, E2, E3) are rare in Korean and ASCII text (Hangul syllables lead with EA–ED), so a
/// byte search finds the few candidates without decoding the text.
fn next_mark(text: &str, mut from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    while from < bytes.len() {
        let at = from
            + match (
                memchr::memchr3(0xC2, 0xE1, 0xE2, &bytes[from..]),
                memchr::memchr(0xE3, &bytes[from..]),
            ) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return None,
            };
        let c = text[at..]
            .chars()
            .next()
            .expect("a lead byte starts a character");
        if MARKS.contains(&c) {
            return Some(at);
        }
        from = at + c.len_utf8();
    }
    None
}

/// The word around byte `at` (a non-space character): from the whitespace before it to the
/// whitespace after it.
fn word_at(text: &str, at: usize) -> (usize, usize) {
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[at..]
        .find(char::is_whitespace)
        .map_or(text.len(), |i| at + i);
    (start, end)
}

/// The word before byte `start` (the start of a word), if any.
fn word_before(text: &str, start: usize) -> Option<(usize, usize)> {
    let end = text[..start].trim_end().len();
    (end > 0).then(|| {
        word_at(
            text,
            end - text[..end].chars().next_back().map_or(1, char::len_utf8),
        )
    })
}

/// The word after byte `end` (the end of a word), if any.
fn word_after(text: &str, end: usize) -> Option<(usize, usize)> {
    let rest = &text[end..];
    let start = end + (rest.len() - rest.trim_start().len());
    (start < text.len()).then(|| word_at(text, start))
}

/// The readings of `text`'s coordinated words that may hold a keyword across their pieces (see
/// [`Junctions`]): `A·B C` reads `A C` (a shared word after the list), and `P A·B` reads `P B`
/// (a shared word before it). `P A` and `B C` are in the text as written. Only the words around
/// a mark are looked at: most texts have none, and a text with some is not split into words.
pub(super) fn readings(text: &str, junctions: &Junctions, out: &mut Vec<Reading>) {
    out.clear();
    let mut from = 0;
    while let Some(mark) = next_mark(text, from) {
        let (start, end) = word_at(text, mark);
        from = end;
        let word = &text[start..end];
        let parts: Vec<(usize, usize)> = word
            .split(MARKS)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let at = p.as_ptr() as usize - text.as_ptr() as usize;
                (at, at + p.len())
            })
            .collect();
        if parts.len() < 2 {
            continue;
        }
        let piece = |(start, end): (usize, usize)| &text[start..end];
        if let Some(next) = word_after(text, end) {
            for &part in &parts[..parts.len() - 1] {
                if junctions.may_join(piece(part), piece(next)) {
                    out.push(Reading::new(text, part, next));
                }
            }
        }
        if let Some(before) = word_before(text, start) {
            for &part in &parts[1..] {
                if junctions.may_join(piece(before), piece(part)) {
                    out.push(Reading::new(text, before, part));
                }
            }
        }
        if out.len() >= MAX_READINGS {
            out.truncate(MAX_READINGS);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Junctions that rule nothing out: every pair of these tests' characters.
    fn any_pair() -> Junctions {
        let chars: Vec<char> =
            "인공지능소프트웨어재양성사업참여형윤리안전신뢰확보ai초거대생성형가나국산반도체를"
                .chars()
                .collect();
        let mut pairs = Vec::new();
        for &a in &chars {
            for &b in &chars {
                pairs.push((a, b));
            }
        }
        pairs.sort_unstable();
        Junctions(pairs)
    }

    fn texts(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        readings(text, &any_pair(), &mut out);
        out.into_iter().map(|r| r.text).collect()
    }

    #[test]
    fn a_list_reads_with_the_word_it_shares() {
        assert_eq!(
            texts("기업 참여형 인공지능·소프트웨어 인재양성사업"),
            ["인공지능 인재양성사업", "참여형 소프트웨어"]
        );
        assert_eq!(
            texts("AI 윤리·안전·신뢰 확보"),
            ["윤리 확보", "안전 확보", "AI 안전", "AI 신뢰"]
        );
        assert_eq!(texts("초거대·생성형 인공지능"), ["초거대 인공지능"]);
        assert!(texts("인공지능 반도체 인재").is_empty());
        // A dot at an edge, or alone, lists nothing.
        assert!(texts("· 인공지능 ·").is_empty());
        // Runs of spaces, other punctuation, and text with no mark at all.
        assert_eq!(
            texts("  국산 “AI·반도체”   인재를  "),
            ["“AI 인재를", "국산 반도체”"]
        );
        assert!(texts("“따옴표”와 … 말줄임표, ©").is_empty());
    }

    #[test]
    fn a_reading_maps_back_only_across_its_pieces() {
        let text = "인공지능·소프트웨어 인재";
        let mut out = Vec::new();
        readings(text, &any_pair(), &mut out);
        let reading = &out[0];
        assert_eq!(reading.text, "인공지능 인재");
        // "인공지능 인재" as a whole: from 인공지능 to 인재 in the text, the list between.
        let whole = reading.across((0, reading.text.len())).unwrap();
        assert_eq!(&text[whole.0..whole.1], text);
        // Within one piece: the text has it already.
        assert_eq!(reading.across((0, "인공지능".len())), None);
    }

    #[test]
    fn a_hostile_text_makes_a_bounded_number_of_readings() {
        let text = "가·나 ".repeat(5_000);
        let mut out = Vec::new();
        readings(&text, &any_pair(), &mut out);
        assert_eq!(out.len(), MAX_READINGS);
    }

    #[test]
    fn only_readings_a_keyword_can_run_across_are_made() {
        let junctions = Junctions::of(&["인공지능인재".to_owned(), "ai안전".to_owned()]);
        let made = |text: &str| {
            let mut out = Vec::new();
            readings(text, &junctions, &mut out);
            out.into_iter().map(|r| r.text).collect::<Vec<_>>()
        };
        // 능+인 is in a keyword; 어+인 (소프트웨어 인재) and 능+소 are not.
        assert_eq!(made("인공지능·소프트웨어 인재"), ["인공지능 인재"]);
        // Latin letters meet folded: AI + 안.
        assert_eq!(made("AI 윤리·안전"), ["AI 안전"]);
        assert!(made("소프트웨어·데이터 인재").is_empty());
    }
}
