//! The matching engine: text folded and scanned in one pass by one Aho-Corasick automaton over
//! every pattern, with the edge rules of each; shared by the classifier, subscribers' watch words
//! ([`Keywords`]) and `/search`, so that a word means the same everywhere.

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

use super::BuildError;
use super::decide::{Evidence, Occurrence};
use crate::fold::{
    FAST_INDICES, FastIndex, Origins, Sink, fast_char, fast_index, fold_into, fold_keyword,
    is_ignorable, is_word_char, normalize,
};
use std::collections::HashMap;

/// Which edges of a pattern need a word boundary in the original text (see the module doc).
#[derive(Debug, Clone, Copy)]
pub(super) struct Edges {
    pub(super) left: bool,
    pub(super) right: bool,
    /// A short Hangul word (one or two syllables) is found only within one word of the text:
    /// spacing is ignored elsewhere, but `원전` is not in `지원 전략` or `위원 전원`.
    pub(super) whole: bool,
}

impl Edges {
    /// The edges of a keyword as configured (`*` at the end lifts the right edge).
    pub(super) fn of(keyword: &str) -> Edges {
        let nfkc = normalize(keyword.trim_end_matches('*')).origins.nfkc;
        let first = nfkc.chars().find(|c| !is_ignorable(*c));
        let last = nfkc.chars().rev().find(|c| !is_ignorable(*c));
        let letters: Vec<char> = nfkc.chars().filter(|c| !is_ignorable(*c)).collect();
        Edges {
            left: first.is_some_and(is_word_char),
            right: !keyword.ends_with('*') && last.is_some_and(is_word_char),
            whole: letters.len() <= 2 && letters.iter().all(|c| ('가'..='힣').contains(c)),
        }
    }
}

/// One automaton over folded patterns, and the edge rule of each: the matching engine shared by
/// the classifier, subscribers' watch words and `/search`, so that a word means the same
/// everywhere.
///
/// Text is folded and scanned in one pass: the folding loop hands each folded character to the
/// automaton ([`Feed`]), so there is no folded copy of the text to write and read again. The
/// automaton does not read UTF-8 but the patterns' own [`Alphabet`]: every character that no
/// pattern contains is one byte no pattern contains (a step back to the start), and a character
/// that some pattern contains is spelled in one to three bytes, mostly one (a Hangul syllable
/// takes three in UTF-8) — fewer steps than UTF-8.
#[derive(Debug)]
pub(super) struct Scanner {
    pub(super) automaton: Engine,
    pub(super) start: StateID,
    pub(super) alphabet: Alphabet,
    /// Each pattern's length in folded UTF-8 bytes (matches are reported in folded offsets).
    pub(super) lengths: Vec<u32>,
    pub(super) edges: Vec<Edges>,
}

/// How the characters of the patterns are spelled for the automaton: each gets a number, the
/// most frequent in the patterns first, and numbers are spelled in bytes of their own (not
/// UTF-8). Up to 255 characters, one byte each; beyond, the first ones keep one byte and the
/// rest take a lead byte and a trail byte from two ranges of their own; beyond 16,256, three
/// bytes each. A spelling always starts with a byte that is no trail byte, so a match of a
/// pattern (which starts with a whole spelling) can only start on a character. Byte 0 spells
/// every character no pattern contains: no pattern goes on through it.
#[derive(Debug)]
pub(super) struct Alphabet {
    /// Each fast-path character's [`Spelling`], by its [`FastIndex`].
    pub(super) fast: Box<[Spelling; FAST_INDICES]>,
    /// The patterns' other characters, sorted, with their spellings.
    pub(super) others: Vec<(char, Spelling)>,
}

/// A character's spelling packed in a word: its bytes from the lowest, and their number in the
/// top byte (0 for a character that folds to nothing: the automaton does not move).
pub(super) type Spelling = u32;

/// The spelling of the characters no pattern contains.
pub(super) const NOT_IN_PATTERNS: Spelling = 1 << 24;

pub(super) fn spelling(bytes: &[u8]) -> Spelling {
    let mut packed = (bytes.len() as u32) << 24;
    for (i, &byte) in bytes.iter().enumerate() {
        packed |= u32::from(byte) << (8 * i);
    }
    packed
}

impl Alphabet {
    /// The alphabet of `patterns` (folded), or an error when they use more than 65,535
    /// distinct characters.
    pub(super) fn of(patterns: &[String]) -> Result<Alphabet, BuildError> {
        let mut counts: HashMap<char, usize> = HashMap::new();
        for c in patterns.iter().flat_map(|p| p.chars()) {
            *counts.entry(c).or_default() += 1;
        }
        let mut by_frequency: Vec<(char, usize)> = counts.into_iter().collect();
        by_frequency.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let count = by_frequency.len();
        if count > usize::from(u16::MAX) {
            return Err(BuildError(format!(
                "the keywords use {count} distinct characters, more than 65,535"
            )));
        }
        let mut alphabet = Alphabet {
            fast: (0..FAST_INDICES)
                .map(|index| match fast_char(index) {
                    (_, false) => 0,
                    (_, true) => NOT_IN_PATTERNS,
                })
                .collect::<Box<[Spelling]>>()
                .try_into()
                .expect("one spelling for each fast index"),
            others: Vec::new(),
        };
        for ((c, _), spelled) in by_frequency.into_iter().zip(spellings(count)) {
            match fast_index(c) {
                Some(index) => {
                    alphabet.fast[index] = spelled;
                    // Folding lower-cases ASCII: an upper-case letter is spelled as its
                    // lower case.
                    if c.is_ascii_lowercase() {
                        alphabet.fast[c.to_ascii_uppercase() as usize] = spelled;
                    }
                }
                None => alphabet.others.push((c, spelled)),
            }
        }
        alphabet.others.sort_unstable();
        Ok(alphabet)
    }

    /// The spelling of a folded character.
    pub(super) fn spelling(&self, c: char) -> Spelling {
        match fast_index(c) {
            Some(index) => self.fast[index],
            None => match self.others.binary_search_by_key(&c, |&(o, _)| o) {
                Ok(at) => self.others[at].1,
                Err(_) => NOT_IN_PATTERNS,
            },
        }
    }

    /// A folded pattern in this alphabet.
    pub(super) fn spell_pattern(&self, pattern: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(pattern.len());
        for c in pattern.chars() {
            let spelled = self.spelling(c);
            let len = (spelled >> 24) as usize;
            out.extend_from_slice(&spelled.to_le_bytes()[..len]);
        }
        out
    }
}

/// The spellings of `count` numbered characters (see [`Alphabet`]), in bytes 1 to 255.
pub(super) fn spellings(count: usize) -> Vec<Spelling> {
    const BYTES: usize = 255;
    if count <= BYTES {
        return (1..=count).map(|k| spelling(&[k as u8])).collect();
    }
    // As many one-byte spellings as leave room for the rest in two bytes: `single` of them,
    // then `leads` × `trails` pairs from the bytes left over.
    let pairs = |single: usize| {
        let rest = BYTES - single;
        (rest / 2) * (rest - rest / 2)
    };
    if let Some(single) = (0..BYTES)
        .rev()
        .find(|&single| single + pairs(single) >= count)
    {
        let leads = (BYTES - single) / 2;
        let trails = BYTES - single - leads;
        return (0..count)
            .map(|k| {
                if k < single {
                    spelling(&[1 + k as u8])
                } else {
                    let pair = k - single;
                    let lead = 1 + single + pair / trails;
                    let trail = 1 + single + leads + pair % trails;
                    spelling(&[lead as u8, trail as u8])
                }
            })
            .collect();
    }
    // Three bytes: a lead from 1 to 16, two trails of 64 values each above.
    (0..count)
        .map(|k| {
            let lead = 1 + (k >> 12);
            let mid = 17 + ((k >> 6) & 0x3F);
            let trail = 17 + (k & 0x3F);
            spelling(&[lead as u8, mid as u8, trail as u8])
        })
        .collect()
}

/// Where a pattern occurs: byte ranges in the folded text and in the NFKC original.
#[derive(Debug, Clone, Copy)]
pub(super) struct Found {
    pub(super) pattern: usize,
    pub(super) folded: (usize, usize),
    pub(super) original: (usize, usize),
}

/// Collects the distinct patterns of a scanner: a keyword's folded form and whether it ends in
/// `*` make one pattern, whatever its spelling ("퓨리 오사", "퓨리오사").
#[derive(Default)]
pub(super) struct ScannerBuilder {
    pub(super) index: HashMap<(String, bool), usize>,
    pub(super) folded: Vec<String>,
    pub(super) edges: Vec<Edges>,
}

impl ScannerBuilder {
    /// The pattern `keyword` stands for, added if it is new (patterns are numbered from 0 in
    /// the order they are added); `None` when it folds to nothing (only punctuation).
    pub(super) fn slot(&mut self, keyword: &str) -> Option<usize> {
        let folded = fold_keyword(keyword);
        if folded.is_empty() {
            return None;
        }
        let next = self.folded.len();
        let slot = *self
            .index
            .entry((folded.clone(), keyword.ends_with('*')))
            .or_insert(next);
        if slot == next {
            self.folded.push(folded);
            self.edges.push(Edges::of(keyword));
        }
        Some(slot)
    }

    /// The scanner, with a DFA if it takes at most `dfa_budget` bytes (see [`Engine`]).
    pub(super) fn build(self, dfa_budget: usize) -> Result<Scanner, BuildError> {
        let alphabet = Alphabet::of(&self.folded)?;
        let spelled: Vec<Vec<u8>> = self
            .folded
            .iter()
            .map(|p| alphabet.spell_pattern(p))
            .collect();
        // The DFA's size, at most: a state per byte of the patterns (and the start), a row per
        // state of one word per byte class, a row's length a power of two.
        let bytes: std::collections::HashSet<u8> = spelled.iter().flatten().copied().collect();
        let states = spelled.iter().map(Vec::len).sum::<usize>() + 1;
        let row = (bytes.len() + 1).next_power_of_two();
        fn build_error(e: impl std::fmt::Display) -> BuildError {
            BuildError(e.to_string())
        }
        // (Stepped a byte at a time: a prefilter would never run.)
        let (automaton, start) = if states * row * 4 <= dfa_budget {
            let dfa = DFA::builder()
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Unanchored)
                .prefilter(false)
                .build(&spelled)
                .map_err(build_error)?;
            let start = dfa.start_state(Anchored::No).map_err(build_error)?;
            (Engine::Dfa(dfa), start)
        } else {
            let nfa = NFA::builder()
                .match_kind(MatchKind::Standard)
                .prefilter(false)
                .build(&spelled)
                .map_err(build_error)?;
            let start = nfa.start_state(Anchored::No).map_err(build_error)?;
            (Engine::Nfa(nfa), start)
        };
        Ok(Scanner {
            automaton,
            start,
            alphabet,
            lengths: self.folded.iter().map(|p| p.len() as u32).collect(),
            edges: self.edges,
        })
    }
}

/// A scan's buffers: the text's NFKC form and origins, and the matches as the automaton saw
/// them, (pattern, folded end). Reused from scan to scan.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    pub(super) origins: Origins,
    pub(super) hits: Vec<(u32, u32)>,
}

/// A scanner's automaton: a DFA (one table lookup a byte) while its table fits
/// [`DFA_BUDGET`], else aho-corasick's contiguous NFA (failure links followed at run time, a
/// small fraction of the memory). The classifier's keywords fit (3.5 MB for 1,000 of them);
/// the union of every subscriber's watch words may not — a thousand chats with twenty words
/// each would be a DFA of about 80 MB (a 5 MB NFA; `cargo bench --bench classify` prints it) —
/// and they are matched on a few hundred new items a day, where the NFA's speed is plenty.
#[derive(Debug)]
pub(super) enum Engine {
    Dfa(DFA),
    Nfa(NFA),
}

impl Engine {
    /// The automaton's heap memory in bytes.
    pub(super) fn memory_usage(&self) -> usize {
        match self {
            Engine::Dfa(dfa) => dfa.memory_usage(),
            Engine::Nfa(nfa) => nfa.memory_usage(),
        }
    }
}

/// The most memory a scanner's DFA may take (as estimated before it is built, see
/// [`ScannerBuilder::build`]).
pub(super) const DFA_BUDGET: usize = 8 << 20;

/// Feeds folded characters to a scanner's automaton (see [`Scanner`]).
pub(super) struct Feed<'a, A> {
    pub(super) alphabet: &'a Alphabet,
    pub(super) automaton: &'a A,
    pub(super) state: StateID,
    pub(super) hits: &'a mut Vec<(u32, u32)>,
}

impl<A: Automaton> Feed<'_, A> {
    /// Steps the automaton through a character's spelling. One-byte spellings (all of them
    /// in most configurations) take no branch on the character: a character that folds to
    /// nothing takes the step and keeps the old state.
    #[inline(always)]
    pub(super) fn spelled(&mut self, spelled: Spelling, end: usize) {
        let automaton = self.automaton;
        let len = spelled >> 24;
        let mut next = automaton.next_state(Anchored::No, self.state, spelled as u8);
        if len > 1 {
            next = rest_of_spelling(automaton, spelled, next);
        }
        self.state = std::hint::select_unpredictable(len != 0, next, self.state);
        // Not `is_special` first: the start state is special, and the automaton is back at
        // the start after most characters. Nor whether it moved: a branch on it would be
        // mispredicted at every space; `note_matches` knows the matches it noted.
        if automaton.is_match(self.state) {
            note_matches(automaton, self.state, end, self.hits);
        }
    }
}

/// Steps through the rest of a spelling of two or three bytes, from `state` after its first.
/// (Free functions, not methods of [`Feed`]: the feed's state stays in a register.)
#[cold]
pub(super) fn rest_of_spelling(
    automaton: &impl Automaton,
    spelled: Spelling,
    mut state: StateID,
) -> StateID {
    for i in 1..(spelled >> 24) {
        state = automaton.next_state(Anchored::No, state, (spelled >> (8 * i)) as u8);
    }
    state
}

/// Notes every pattern that ends in `state`, unless they were noted at this end already (the
/// automaton stays in a state of matches through whitespace and punctuation after them).
#[cold]
pub(super) fn note_matches(
    automaton: &impl Automaton,
    state: StateID,
    end: usize,
    hits: &mut Vec<(u32, u32)>,
) {
    if hits.last().is_some_and(|&(_, at)| at as usize == end) {
        return;
    }
    for i in 0..automaton.match_len(state) {
        let pattern = automaton.match_pattern(state, i);
        hits.push((pattern.as_u32(), end as u32));
    }
}

impl<A: Automaton> Sink for Feed<'_, A> {
    #[inline(always)]
    fn fast(&mut self, index: FastIndex, end: usize) {
        // (`min`: no bounds check — a fast index is below `FAST_INDICES`.)
        let spelled = self.alphabet.fast[index.min(FAST_INDICES - 1)];
        self.spelled(spelled, end);
    }

    fn other(&mut self, c: char, end: usize) {
        let spelled = self.alphabet.spelling(c);
        self.spelled(spelled, end);
    }
}

impl Scanner {
    /// Folds `text` and runs the automaton over it, into `scratch`; [`Scanner::found`] then
    /// reads the matches.
    pub(super) fn scan(&self, text: &str, scratch: &mut Scratch) {
        match &self.automaton {
            Engine::Dfa(dfa) => self.scan_with(dfa, text, scratch),
            Engine::Nfa(nfa) => self.scan_with(nfa, text, scratch),
        }
    }

    /// [`Scanner::scan`] with its automaton (one loop compiled for each kind).
    pub(super) fn scan_with(&self, automaton: &impl Automaton, text: &str, scratch: &mut Scratch) {
        scratch.hits.clear();
        let mut feed = Feed {
            alphabet: &self.alphabet,
            automaton,
            state: self.start,
            hits: &mut scratch.hits,
        };
        fold_into(text, &mut scratch.origins, &mut feed);
    }

    /// Every occurrence of every pattern in the text last scanned into `scratch` that passes
    /// its edge rule, overlapping ones included, in the order they end.
    pub(super) fn found<'a>(&'a self, scratch: &'a Scratch) -> impl Iterator<Item = Found> + 'a {
        let origins = &scratch.origins;
        let mut resolver = origins.resolver();
        scratch.hits.iter().filter_map(move |&(pattern, end)| {
            let pattern = pattern as usize;
            let end = end as usize;
            let start = end - self.lengths[pattern] as usize;
            let edges = self.edges[pattern];
            let (from, to) = resolver.original_range(start, end);
            let word_before = || {
                origins.nfkc[..from]
                    .chars()
                    .next_back()
                    .is_some_and(is_word_char)
            };
            let word_after = || origins.nfkc[to..].chars().next().is_some_and(is_word_char);
            if (edges.left && word_before()) || (edges.right && word_after()) {
                return None;
            }
            if edges.whole && origins.nfkc[from..to].contains(char::is_whitespace) {
                return None;
            }
            Some(Found {
                pattern,
                folded: (start, end),
                original: (from, to),
            })
        })
    }

    /// Whether any pattern occurs in `text`.
    pub(super) fn occurs_in(&self, text: &str, scratch: &mut Scratch) -> bool {
        self.scan(text, scratch);
        self.found(scratch).next().is_some()
    }
}

/// An item's text as matching reads it: the title and the read part of the summary, so the
/// classifier and the watch words read the same text.
#[derive(Debug, Default)]
pub struct ItemText {
    pub(super) title: String,
    pub(super) summary: String,
}

impl ItemText {
    /// `title` and the first `summary_chars` characters of `summary`.
    pub fn new(title: &str, summary: &str, summary_chars: usize) -> ItemText {
        let mut text = ItemText::default();
        text.set(title, summary, summary_chars);
        text
    }

    /// Replaces the text with another item's, reusing the buffers (a loop over many items
    /// allocates nothing once they have grown).
    pub fn set(&mut self, title: &str, summary: &str, summary_chars: usize) {
        self.title.clear();
        self.title.push_str(title);
        self.summary.clear();
        self.summary
            .push_str(crate::fold::first_chars(summary, summary_chars));
    }
}

thread_local! {
    /// The scan buffers of [`Classifier::classify`] and [`Keywords`], reused from call to call
    /// on each thread.
    pub(super) static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
    /// The scan buffers of a field's coordinated readings (the field's own stay intact), and
    /// the readings.
    pub(super) static READINGS: std::cell::RefCell<(Scratch, Vec<super::coordination::Reading>)> = std::cell::RefCell::default();
    /// [`Classifier::classify_text`]'s list of occurrences, likewise.
    pub(super) static OCCURRENCES: std::cell::Cell<Vec<Occurrence>> = const { std::cell::Cell::new(Vec::new()) };
    /// Its list of evidence, likewise.
    pub(super) static EVIDENCE: std::cell::Cell<Vec<Evidence>> = const { std::cell::Cell::new(Vec::new()) };
    /// The order in which a score walks a topic's evidence (see [`Classifier::walk_pieces`]).
    pub(super) static WALK: std::cell::Cell<Vec<usize>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A list of words matched under the classifier's rules (NFKC, spacing and punctuation ignored,
/// Latin word edges, `*` for a prefix): subscribers' watch words and `/search` queries.
#[derive(Debug)]
pub struct Keywords {
    pub(super) scanner: Scanner,
    /// For each pattern, the indices of the words (as given) that fold to it.
    pub(super) words_of: Vec<Vec<usize>>,
    pub(super) len: usize,
}

impl Keywords {
    /// Builds the matcher. Words that fold to nothing (only punctuation) never match.
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Keywords, BuildError> {
        Keywords::within(words, DFA_BUDGET)
    }

    /// [`Keywords::new`] with a DFA only within `dfa_budget` bytes.
    pub(super) fn within<'a>(
        words: impl IntoIterator<Item = &'a str>,
        dfa_budget: usize,
    ) -> Result<Keywords, BuildError> {
        let mut builder = ScannerBuilder::default();
        let mut words_of: Vec<Vec<usize>> = Vec::new();
        let mut len = 0;
        for (i, word) in words.into_iter().enumerate() {
            len = i + 1;
            let Some(slot) = builder.slot(word) else {
                continue;
            };
            if slot == words_of.len() {
                words_of.push(Vec::new());
            }
            words_of[slot].push(i);
        }
        Ok(Keywords {
            scanner: builder.build(dfa_budget)?,
            words_of,
            len,
        })
    }

    /// The heap memory of the matcher's automaton, in bytes (the watch words' can be the
    /// daemon's largest structure: see `DFA_BUDGET`).
    pub fn automaton_bytes(&self) -> usize {
        self.scanner.automaton.memory_usage()
    }

    /// Number of words given.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The indices of the words found in the title or the summary, ascending, each once.
    pub fn find(&self, text: &ItemText) -> Vec<usize> {
        let mut hit = vec![false; self.words_of.len()];
        SCRATCH.with_borrow_mut(|scratch| {
            for field in [&text.title, &text.summary] {
                self.scanner.scan(field, scratch);
                for f in self.scanner.found(scratch) {
                    hit[f.pattern] = true;
                }
            }
        });
        let mut out: Vec<usize> = hit
            .iter()
            .zip(&self.words_of)
            .filter(|(h, _)| **h)
            .flat_map(|(_, words)| words.iter().copied())
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether any word is found (the summary is not scanned when the title has one).
    /// Whether every word is found (in the title or the summary), in any order.
    pub(crate) fn matches_all(&self, text: &ItemText) -> bool {
        match self.words_of.len() {
            0 => true,
            1 => self.matches(text),
            words => self.find(text).len() == words,
        }
    }

    pub fn matches(&self, text: &ItemText) -> bool {
        SCRATCH.with_borrow_mut(|scratch| {
            self.scanner.occurs_in(&text.title, scratch)
                || self.scanner.occurs_in(&text.summary, scratch)
        })
    }
}
