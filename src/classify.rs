//! Classification: a pure function from (title, summary) to the topics an item belongs to, with
//! an explanation of every decision.
//!
//! Korean-aware matching. Text is folded (NFKC per character, Latin lower-cased, whitespace and
//! punctuation removed) and, in the same pass, every keyword of every role of every topic is
//! searched by one Aho-Corasick automaton (see `Scanner`), so the cost does not grow with the
//! number of topics.
//! Hangul matches inside words (particles: 반도체를), while a keyword edge made of Latin letters or
//! digits must sit on a word boundary of the (NFKC) original: `AI` matches "AI반도체" and "(AI)"
//! but not "MAIN". A trailing `*` on a keyword lifts the right-edge check (`HBM*` matches "HBM3E").
//!
//! Rules per topic (see config/policy-watch.toml): `keywords`, `strong` (overrides exclusions),
//! `generic` (counts only with another keyword or an anchor), `require` groups, `exclude`; global
//! anchors and exclusions. Each occurrence of evidence adds the weight of its field; a topic
//! matches at its threshold.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{ClassifyConfig, TopicConfig};
use crate::fold::{
    FAST_INDICES, FastIndex, Origins, Sink, fast_char, fast_index, fold_into, fold_keyword,
    is_ignorable, is_word_char, normalize,
};
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind, StartKind};
use serde::{Deserialize, Serialize};

/// A topic an item matched, with the keywords that made it match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMatch {
    // Shared with the classifier (and between notices): every match of every item names its
    // topic and keywords, and copying the strings was a tenth of classifying.
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub hashtag: Arc<str>,
    /// Configured keywords that counted, in order of appearance (title first).
    pub keywords: Vec<Arc<str>>,
}

/// Where in the item a keyword matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Summary,
}

/// What a keyword does for a topic (or globally).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Keyword,
    Strong,
    Generic,
    Require(usize),
    Exclude,
    GlobalExclude,
    Anchor,
    /// A phrase in which an anchor word is no anchor (`AI 전환`: AI used, not built).
    NotAnchor,
}

/// One configured keyword behind a pattern.
#[derive(Debug)]
struct Owner {
    role: Role,
    /// Topic index; `None` for global roles (anchors, global excludes).
    topic: Option<usize>,
    keyword: Arc<str>,
}

/// One distinct folded pattern and the configured keywords it stands for.
#[derive(Debug)]
struct Pattern {
    owners: Vec<usize>,
    /// Whether any owner belongs to a topic (anchors and global excludes alone decide nothing).
    topical: bool,
}

/// Which edges of a pattern need a word boundary in the original text (see the module doc).
#[derive(Debug, Clone, Copy)]
struct Edges {
    left: bool,
    right: bool,
    /// A short Hangul word (one or two syllables) is found only within one word of the text:
    /// spacing is ignored elsewhere, but `원전` is not in `지원 전략` or `위원 전원`.
    whole: bool,
}

impl Edges {
    /// The edges of a keyword as configured (`*` at the end lifts the right edge).
    fn of(keyword: &str) -> Edges {
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
struct Scanner {
    automaton: Engine,
    start: StateID,
    alphabet: Alphabet,
    /// Each pattern's length in folded UTF-8 bytes (matches are reported in folded offsets).
    lengths: Vec<u32>,
    edges: Vec<Edges>,
}

/// How the characters of the patterns are spelled for the automaton: each gets a number, the
/// most frequent in the patterns first, and numbers are spelled in bytes of their own (not
/// UTF-8). Up to 255 characters, one byte each; beyond, the first ones keep one byte and the
/// rest take a lead byte and a trail byte from two ranges of their own; beyond 16,256, three
/// bytes each. A spelling always starts with a byte that is no trail byte, so a match of a
/// pattern (which starts with a whole spelling) can only start on a character. Byte 0 spells
/// every character no pattern contains: no pattern goes on through it.
#[derive(Debug)]
struct Alphabet {
    /// Each fast-path character's [`Spelling`], by its [`FastIndex`].
    fast: Box<[Spelling; FAST_INDICES]>,
    /// The patterns' other characters, sorted, with their spellings.
    others: Vec<(char, Spelling)>,
}

/// A character's spelling packed in a word: its bytes from the lowest, and their number in the
/// top byte (0 for a character that folds to nothing: the automaton does not move).
type Spelling = u32;

/// The spelling of the characters no pattern contains.
const NOT_IN_PATTERNS: Spelling = 1 << 24;

fn spelling(bytes: &[u8]) -> Spelling {
    let mut packed = (bytes.len() as u32) << 24;
    for (i, &byte) in bytes.iter().enumerate() {
        packed |= u32::from(byte) << (8 * i);
    }
    packed
}

impl Alphabet {
    /// The alphabet of `patterns` (folded), or an error when they use more than 65,535
    /// distinct characters.
    fn of(patterns: &[String]) -> Result<Alphabet, BuildError> {
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
    fn spelling(&self, c: char) -> Spelling {
        match fast_index(c) {
            Some(index) => self.fast[index],
            None => match self.others.binary_search_by_key(&c, |&(o, _)| o) {
                Ok(at) => self.others[at].1,
                Err(_) => NOT_IN_PATTERNS,
            },
        }
    }

    /// A folded pattern in this alphabet.
    fn spell_pattern(&self, pattern: &str) -> Vec<u8> {
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
fn spellings(count: usize) -> Vec<Spelling> {
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
struct Found {
    pattern: usize,
    folded: (usize, usize),
    original: (usize, usize),
}

/// Collects the distinct patterns of a scanner: a keyword's folded form and whether it ends in
/// `*` make one pattern, whatever its spelling ("퓨리 오사", "퓨리오사").
#[derive(Default)]
struct ScannerBuilder {
    index: HashMap<(String, bool), usize>,
    folded: Vec<String>,
    edges: Vec<Edges>,
}

impl ScannerBuilder {
    /// The pattern `keyword` stands for, added if it is new (patterns are numbered from 0 in
    /// the order they are added); `None` when it folds to nothing (only punctuation).
    fn slot(&mut self, keyword: &str) -> Option<usize> {
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
    fn build(self, dfa_budget: usize) -> Result<Scanner, BuildError> {
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
struct Scratch {
    origins: Origins,
    hits: Vec<(u32, u32)>,
}

/// A scanner's automaton: a DFA (one table lookup a byte) while its table fits
/// [`DFA_BUDGET`], else aho-corasick's contiguous NFA (failure links followed at run time, a
/// small fraction of the memory). The classifier's keywords fit (3.5 MB for 1,000 of them);
/// the union of every subscriber's watch words may not — a thousand chats with twenty words
/// each would be a DFA of about 80 MB (a 5 MB NFA; `cargo bench --bench classify` prints it) —
/// and they are matched on a few hundred new items a day, where the NFA's speed is plenty.
#[derive(Debug)]
enum Engine {
    Dfa(DFA),
    Nfa(NFA),
}

impl Engine {
    /// The automaton's heap memory in bytes.
    fn memory_usage(&self) -> usize {
        match self {
            Engine::Dfa(dfa) => dfa.memory_usage(),
            Engine::Nfa(nfa) => nfa.memory_usage(),
        }
    }
}

/// The most memory a scanner's DFA may take (as estimated before it is built, see
/// [`ScannerBuilder::build`]).
const DFA_BUDGET: usize = 8 << 20;

/// Feeds folded characters to a scanner's automaton (see [`Scanner`]).
struct Feed<'a, A> {
    alphabet: &'a Alphabet,
    automaton: &'a A,
    state: StateID,
    hits: &'a mut Vec<(u32, u32)>,
}

impl<A: Automaton> Feed<'_, A> {
    /// Steps the automaton through a character's spelling. One-byte spellings (all of them
    /// in most configurations) take no branch on the character: a character that folds to
    /// nothing takes the step and keeps the old state.
    #[inline(always)]
    fn spelled(&mut self, spelled: Spelling, end: usize) {
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
fn rest_of_spelling(automaton: &impl Automaton, spelled: Spelling, mut state: StateID) -> StateID {
    for i in 1..(spelled >> 24) {
        state = automaton.next_state(Anchored::No, state, (spelled >> (8 * i)) as u8);
    }
    state
}

/// Notes every pattern that ends in `state`, unless they were noted at this end already (the
/// automaton stays in a state of matches through whitespace and punctuation after them).
#[cold]
fn note_matches(
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
    fn scan(&self, text: &str, scratch: &mut Scratch) {
        match &self.automaton {
            Engine::Dfa(dfa) => self.scan_with(dfa, text, scratch),
            Engine::Nfa(nfa) => self.scan_with(nfa, text, scratch),
        }
    }

    /// [`Scanner::scan`] with its automaton (one loop compiled for each kind).
    fn scan_with(&self, automaton: &impl Automaton, text: &str, scratch: &mut Scratch) {
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
    fn found<'a>(&'a self, scratch: &'a Scratch) -> impl Iterator<Item = Found> + 'a {
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
    fn occurs_in(&self, text: &str, scratch: &mut Scratch) -> bool {
        self.scan(text, scratch);
        self.found(scratch).next().is_some()
    }
}

/// An item's text as matching reads it: the title and the read part of the summary, so the
/// classifier and the watch words read the same text.
#[derive(Debug, Default)]
pub struct ItemText {
    title: String,
    summary: String,
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
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
    /// [`Classifier::classify_text`]'s list of occurrences, likewise.
    static OCCURRENCES: std::cell::Cell<Vec<Occurrence>> = const { std::cell::Cell::new(Vec::new()) };
    /// Its list of evidence, likewise.
    static EVIDENCE: std::cell::Cell<Vec<Evidence>> = const { std::cell::Cell::new(Vec::new()) };
    /// The order in which a score walks a topic's evidence (see [`Classifier::walk_pieces`]).
    static WALK: std::cell::Cell<Vec<usize>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A list of words matched under the classifier's rules (NFKC, spacing and punctuation ignored,
/// Latin word edges, `*` for a prefix): subscribers' watch words and `/search` queries.
#[derive(Debug)]
pub struct Keywords {
    scanner: Scanner,
    /// For each pattern, the indices of the words (as given) that fold to it.
    words_of: Vec<Vec<usize>>,
    len: usize,
}

impl Keywords {
    /// Builds the matcher. Words that fold to nothing (only punctuation) never match.
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Keywords, BuildError> {
        Keywords::within(words, DFA_BUDGET)
    }

    /// [`Keywords::new`] with a DFA only within `dfa_budget` bytes.
    fn within<'a>(
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
    /// daemon's largest structure: see [`DFA_BUDGET`]).
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
    pub fn matches_all(&self, text: &ItemText) -> bool {
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

#[derive(Debug)]
struct Topic {
    id: Arc<str>,
    name: Arc<str>,
    hashtag: Arc<str>,
    title_weight: f32,
    summary_weight: f32,
    threshold: f32,
    require_groups: usize,
}

/// The classifier built from one config load: one automaton over every keyword of every role.
#[derive(Debug)]
pub struct Classifier {
    scanner: Scanner,
    patterns: Vec<Pattern>,
    owners: Vec<Owner>,
    topics: Vec<Topic>,
    lead_chars: usize,
    summary_chars: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the keyword automaton: {0}")]
pub struct BuildError(String);

/// A keyword that matched, where, and the text it covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeywordHit {
    pub keyword: String,
    pub field: Field,
    /// The span of the (NFKC-normalised) original text the keyword covered.
    pub text: String,
}

/// Why a topic did or did not match an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Match,
    /// No keyword (or only ignored generic words).
    NoMatch,
    BelowThreshold,
    /// A `require` group had no match (1-based group number).
    MissingRequired {
        group: usize,
    },
    /// An exclusion matched and no strong keyword overrode it.
    Vetoed {
        by: Vec<KeywordHit>,
    },
}

/// The full reasoning for one topic: what `policy-watch explain` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopicExplanation {
    pub id: String,
    pub name: String,
    pub decision: Decision,
    pub score: f32,
    pub threshold: f32,
    /// Keywords (and strong and counted generic keywords) that scored.
    pub counted: Vec<KeywordHit>,
    /// Generic keywords that matched but did not count (no other keyword, no anchor).
    pub ignored_generic: Vec<KeywordHit>,
    pub strong: bool,
    /// How the score was made: each piece of evidence with its weight. Keywords that overlap
    /// or touch in the text are one piece ("NPU 뉴로모픽" scores once); a piece made only of
    /// keywords already counted adds 0.
    pub pieces: Vec<Piece>,
    /// Exclusions that matched but did not veto: a strong keyword of this topic overrode them,
    /// or they were only in the summary while the topic's evidence is in the title.
    pub overridden: Vec<KeywordHit>,
}

/// One piece of evidence: keywords that overlap or touch in one field, and what it added.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Piece {
    pub field: Field,
    pub keywords: Vec<String>,
    pub weight: f32,
    /// A strong keyword in the summary's lead, weighed as in the title.
    pub strong_in_lead: bool,
}

/// The reasoning for every topic of an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub anchors: Vec<KeywordHit>,
    pub global_vetoes: Vec<KeywordHit>,
    pub topics: Vec<TopicExplanation>,
}

/// One occurrence of a pattern in a field (cheap to copy; strings are made only for `explain`).
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    pattern: usize,
    field: Field,
    /// Byte range in the folded field text.
    folded: (usize, usize),
    /// Byte range in the NFKC field text.
    original: (usize, usize),
    /// In the summary's lead (its first `lead_chars` characters).
    lead: bool,
}

/// A piece of evidence before strings are made (see [`Piece`]).
struct RawPiece<'a> {
    field: Field,
    keywords: Vec<&'a str>,
    weight: f32,
    strong_in_lead: bool,
}

/// One owner (configured keyword) of one occurrence, filed under a topic (or [`GLOBAL`]) and
/// what it is evidence of there.
#[derive(Debug, Clone, Copy)]
struct Evidence {
    topic: usize,
    kind: Kind,
    owner: usize,
    occurrence: usize,
}

/// The topic of the evidence of global roles (anchors, global exclusions): after every topic.
const GLOBAL: usize = u32::MAX as usize;

/// What an occurrence is evidence of, in the order evidence is grouped: a topic's keywords
/// (strong ones included) and its generic words are next to each other, so that the evidence
/// that counts is one slice either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Keyword,
    Generic,
    Exclude,
    Require,
    Anchor,
    GlobalExclude,
    NotAnchor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Match,
    NoMatch,
    BelowThreshold,
    MissingRequired(usize),
    Vetoed,
}

/// A topic's decision, with the evidence behind it (slices of the item's evidence).
#[derive(Debug)]
struct TopicEval<'a> {
    verdict: Verdict,
    score: f32,
    counted: &'a [Evidence],
    ignored_generic: &'a [Evidence],
    /// The topic's exclusions and the global ones (empty when nothing counted).
    vetoes: [&'a [Evidence]; 2],
    strong: bool,
}

impl TopicEval<'_> {
    /// The decision for a topic without evidence.
    fn none() -> TopicEval<'static> {
        TopicEval {
            verdict: Verdict::NoMatch,
            score: 0.0,
            counted: &[],
            ignored_generic: &[],
            vetoes: [&[], &[]],
            strong: false,
        }
    }
}

/// What stands between two words listed together in a title (spacing aside).
const LISTING: [&str; 10] = ["와", "과", "및", "·", "・", "ㆍ", ",", "、", "/", "&"];

/// Where the item has an anchor (`AI`, `반도체`…).
#[derive(Debug, Clone, Copy)]
struct AnchorsIn {
    title: bool,
    summary: bool,
}

/// An item's evidence split as the decisions read it: the topics' and the global roles' (see
/// [`Classifier::gather`]).
struct Filed<'a> {
    /// Grouped by topic, in config order.
    topical: &'a [Evidence],
    anchors: &'a [Evidence],
    global_vetoes: &'a [Evidence],
}

impl Classifier {
    pub fn new(
        classify: &ClassifyConfig,
        topics: &[TopicConfig],
    ) -> Result<Classifier, BuildError> {
        let mut builder = PatternSet {
            synonyms: classify.synonyms.clone(),
            ..PatternSet::default()
        };
        for keyword in &classify.anchors {
            builder.add(keyword, Role::Anchor, None);
        }
        for keyword in &classify.exclude {
            builder.add(keyword, Role::GlobalExclude, None);
        }
        for keyword in &classify.not_anchors {
            builder.add(keyword, Role::NotAnchor, None);
        }
        for (t, topic) in topics.iter().enumerate() {
            let lists = [
                (&topic.keywords, Role::Keyword),
                (&topic.strong, Role::Strong),
                (&topic.generic, Role::Generic),
                (&topic.exclude, Role::Exclude),
            ];
            for (list, role) in lists {
                for keyword in list {
                    builder.add(keyword, role, Some(t));
                }
            }
            for (g, group) in topic.require.iter().enumerate() {
                for keyword in group {
                    builder.add(keyword, Role::Require(g), Some(t));
                }
            }
        }
        Ok(Classifier {
            scanner: builder.scanner.build(DFA_BUDGET)?,
            patterns: builder.patterns,
            owners: builder.owners,
            lead_chars: classify.lead_chars,
            summary_chars: classify.summary_chars,
            topics: topics
                .iter()
                .map(|t| Topic {
                    id: Arc::from(t.id()),
                    name: Arc::from(t.name.as_str()),
                    hashtag: Arc::from(t.hashtag.as_str()),
                    title_weight: t.title_weight.unwrap_or(classify.title_weight),
                    summary_weight: t.summary_weight.unwrap_or(classify.summary_weight),
                    threshold: t.threshold.unwrap_or(classify.threshold),
                    require_groups: t.require.len(),
                })
                .collect(),
        })
    }

    /// Every pattern occurrence in a field that passes the boundary rules; `scratch` holds
    /// the field's NFKC text afterwards.
    fn occurrences(
        &self,
        text: &str,
        field: Field,
        scratch: &mut Scratch,
        out: &mut Vec<Occurrence>,
    ) {
        self.scanner.scan(text, scratch);
        // Where the summary's lead ends, counted when a summary has an occurrence.
        let mut lead_end = None;
        out.extend(self.scanner.found(scratch).map(|f| Occurrence {
            pattern: f.pattern,
            field,
            folded: f.folded,
            original: f.original,
            lead: field == Field::Summary
                && f.original.0
                    < *lead_end.get_or_insert_with(|| {
                        crate::fold::first_chars(&scratch.origins.nfkc, self.lead_chars).len()
                    }),
        }));
    }

    /// Files the evidence of `occurrences` into `evidence` (its contents replaced): grouped by
    /// topic (the global roles last) and by [`Kind`], each group in order of occurrence, the
    /// same keyword in the same field once (one piece of evidence for explanations; scoring
    /// looks at occurrences separately). One list for the whole item, reused from item to item:
    /// a list per topic and kind was a dozen allocations for every item with evidence.
    /// Returns the list split as the decisions read it.
    fn gather<'e>(&self, occurrences: &[Occurrence], evidence: &'e mut Vec<Evidence>) -> Filed<'e> {
        evidence.clear();
        for (o, occurrence) in occurrences.iter().enumerate() {
            for &owner in &self.patterns[occurrence.pattern].owners {
                let (topic, kind) = match (self.owners[owner].role, self.owners[owner].topic) {
                    (Role::Anchor, _) => (GLOBAL, Kind::Anchor),
                    (Role::GlobalExclude, _) => (GLOBAL, Kind::GlobalExclude),
                    (Role::NotAnchor, _) => (GLOBAL, Kind::NotAnchor),
                    (_, None) => continue,
                    (Role::Keyword | Role::Strong, Some(t)) => (t, Kind::Keyword),
                    (Role::Generic, Some(t)) => (t, Kind::Generic),
                    (Role::Exclude, Some(t)) => (t, Kind::Exclude),
                    (Role::Require(_), Some(t)) => (t, Kind::Require),
                };
                evidence.push(Evidence {
                    topic,
                    kind,
                    owner,
                    occurrence: o,
                });
            }
        }
        // By group, then in the order they were pushed (of occurrence, and of owner within
        // one): keys that are all distinct, in one integer, sort without a buffer.
        evidence.sort_unstable_by_key(|e| {
            (e.topic as u128) << 72
                | (e.kind as u128) << 64
                | (e.occurrence as u128) << 32
                | e.owner as u128
        });
        let mut kept = 0;
        let mut group = 0;
        for read in 0..evidence.len() {
            let e = evidence[read];
            if kept > 0 && (evidence[kept - 1].topic, evidence[kept - 1].kind) != (e.topic, e.kind)
            {
                group = kept;
            }
            let field = occurrences[e.occurrence].field;
            let repeated = evidence[group..kept]
                .iter()
                .any(|k| k.owner == e.owner && occurrences[k.occurrence].field == field);
            if !repeated {
                evidence[kept] = e;
                kept += 1;
            }
        }
        evidence.truncate(kept);
        // The global roles, sorted by kind: anchors, global vetoes, phrases that unmake anchors.
        let global = evidence.partition_point(|e| e.topic != GLOBAL);
        let anchors_end = global + evidence[global..].partition_point(|e| e.kind == Kind::Anchor);
        let not_anchors =
            global + evidence[global..].partition_point(|e| e.kind != Kind::NotAnchor);
        // Anchors inside such a phrase (`AI 전환`: AI used, not built) are moved behind the
        // others and left out.
        let mut anchors_kept = anchors_end;
        if not_anchors < evidence.len() {
            let inside = |a: &Evidence, n: &Evidence| {
                let (a, n) = (&occurrences[a.occurrence], &occurrences[n.occurrence]);
                a.field == n.field && n.folded.0 <= a.folded.0 && a.folded.1 <= n.folded.1
            };
            anchors_kept = global;
            for j in global..anchors_end {
                let anchor = evidence[j];
                if !evidence[not_anchors..].iter().any(|n| inside(&anchor, n)) {
                    evidence.swap(anchors_kept, j);
                    anchors_kept += 1;
                }
            }
        }
        let evidence = &evidence[..];
        let topical = &evidence[..global];
        let anchors = &evidence[global..anchors_kept];
        let global_vetoes = &evidence[anchors_end..not_anchors];
        Filed {
            topical,
            anchors,
            global_vetoes,
        }
    }

    /// The decisions for the topics with evidence of any kind, in config order (any other
    /// topic's is [`TopicEval::none`]).
    fn decisions<'a>(
        &'a self,
        filed: &'a Filed<'a>,
        occurrences: &'a [Occurrence],
        title: &'a str,
    ) -> impl Iterator<Item = (usize, TopicEval<'a>)> + 'a {
        let anchors = filed.anchors;
        filed
            .topical
            .chunk_by(|a, b| a.topic == b.topic)
            .map(move |group| {
                let t = group[0].topic;
                let topic = &self.topics[t];
                let eval = self.decide(
                    topic,
                    group,
                    anchors,
                    filed.global_vetoes,
                    occurrences,
                    title,
                );
                (t, eval)
            })
    }

    /// The decision for one topic on its `group` of evidence.
    fn decide<'a>(
        &self,
        topic: &Topic,
        group: &'a [Evidence],
        anchors: &[Evidence],
        global_vetoes: &'a [Evidence],
        occurrences: &[Occurrence],
        title: &str,
    ) -> TopicEval<'a> {
        // The group is sorted by kind: each kind's evidence is the range after the kinds before.
        let mut count = [0; 7];
        for e in group {
            count[e.kind as usize] += 1;
        }
        let mut start = 0;
        let [keywords, generic, excludes, requires, ..] = count.map(|n| {
            start += n;
            start - n..start
        });
        if keywords.is_empty() && generic.is_empty() {
            // No evidence (only a requirement or an exclusion matched): nothing to score or
            // veto.
            return TopicEval::none();
        }
        // Generic words count beside a keyword of the topic; beside an anchor in the title, or
        // in the summary when they are only in the summary (a generic in the title is not about
        // AI because the body names AI somewhere: `펀드` in a cyber-security fund's title); or
        // two of them apart in the title.
        let generics = &group[generic.clone()];
        // An anchor inside a generic word's own span (`인공지능` in `인공지능 3대 강국`) is that
        // word, not a second piece of evidence beside it.
        let anchor_in = |field: Field| {
            anchors.iter().any(|a| {
                let a = &occurrences[a.occurrence];
                a.field == field
                    && !generics.iter().any(|g| {
                        let g = &occurrences[g.occurrence];
                        g.field == a.field && g.folded.0 <= a.folded.0 && a.folded.1 <= g.folded.1
                    })
            })
        };
        let anchored = AnchorsIn {
            title: anchor_in(Field::Title),
            summary: anchor_in(Field::Summary),
        };
        let generic_in = |field: Field| {
            generics
                .iter()
                .any(|e| occurrences[e.occurrence].field == field)
        };
        let title_text = std::cell::OnceCell::new();
        let nfkc_title = || {
            title_text
                .get_or_init(|| normalize(title).origins.nfkc)
                .as_str()
        };
        // The title's text between two occurrences, if they do not overlap.
        let between = |a: &Occurrence, b: &Occurrence| {
            let (first, second) = if a.original.1 <= b.original.0 {
                (a, b)
            } else {
                (b, a)
            };
            (first.original.1 <= second.original.0)
                .then(|| nfkc_title().get(first.original.1..second.original.0))
                .flatten()
        };
        // Two words of the title with a space or other words between them, not a word and its
        // synonym in brackets (`유럽연합(EU)`).
        let apart = |a: &Evidence, b: &Evidence| {
            let (a, b) = (&occurrences[a.occurrence], &occurrences[b.occurrence]);
            a.field == Field::Title
                && b.field == Field::Title
                && between(a, b)
                    .is_some_and(|t| t.chars().any(|c| c.is_whitespace() || c.is_alphanumeric()))
        };
        // Two different generic words in the title, apart (not one word and its synonym in
        // brackets, `유럽연합(EU)`).
        let two_generics = generics
            .iter()
            .any(|a| generics.iter().any(|b| a.owner != b.owner && apart(a, b)));
        let generic_counts = !keywords.is_empty()
            || anchored.title
            || (anchored.summary && !generic_in(Field::Title))
            || two_generics;
        let (counted, ignored_generic) = if generic_counts {
            (&group[keywords.start..generic.end], &[][..])
        } else {
            (&group[keywords.clone()], &group[generic])
        };
        let score = self.score(counted, topic, occurrences);
        let met = |g: usize| {
            group[requires.clone()]
                .iter()
                .any(|e| self.owners[e.owner].role == Role::Require(g))
        };
        let vetoes = [&group[excludes], global_vetoes];
        // Fields in which a strong keyword matched.
        let strong_in = |field: Field| {
            group[keywords.clone()].iter().any(|e| {
                self.owners[e.owner].role == Role::Strong
                    && occurrences[e.occurrence].field == field
            })
        };
        let strong_fields = [Field::Title, Field::Summary].map(strong_in);
        // A strong keyword is the topic by itself: it needs no `require` group beside it
        // (`기술번영 MOU` is global cooperation on AI and chips without saying so).
        let missing_group = if strong_fields.contains(&true) {
            None
        } else {
            (0..topic.require_groups).find(|&g| !met(g))
        };
        // Whether a veto occurrence is listed next to a keyword of the topic in the title: only
        // a listing word or mark between them (`AI반도체와 양자 기술`, `AI·반도체·우주`), not
        // a colon or other words (`수출입 동향: NPU`). The title is read again for this (rare).
        let listed_with_keyword = |v: &Evidence| {
            let veto = &occurrences[v.occurrence];
            group[keywords.clone()].iter().any(|e| {
                let k = &occurrences[e.occurrence];
                k.field == Field::Title
                    && between(k, veto).is_some_and(|b| LISTING.contains(&b.trim()))
            })
        };
        // An exclusion only in the summary does not veto a topic whose evidence is in the
        // title: the title says what the release is about, a lead's passing mention does not.
        let evidence_in_title = counted
            .iter()
            .any(|e| occurrences[e.occurrence].field == Field::Title);
        // The vetoes that count, and whether one of them is in the title.
        let mut vetoed = false;
        let mut veto_in_title = false;
        for (global, v) in vetoes
            .iter()
            .enumerate()
            .flat_map(|(i, list)| list.iter().map(move |v| (i == 1, v)))
        {
            let field = occurrences[v.occurrence].field;
            // A global veto word listed with the topic's own keyword in the title is a side
            // mention (`AI반도체와 양자 기술 공동연구`, `AI·반도체·우주`): the title is about
            // both, and so about the topic. Listed: nothing between them once spacing and
            // punctuation are ignored, or one syllable (와, 과, 및).
            if global && field == Field::Title && listed_with_keyword(v) {
                continue;
            }
            if field == Field::Title || !evidence_in_title {
                vetoed = true;
                veto_in_title |= field == Field::Title;
            }
        }
        let verdict = if counted.is_empty() {
            Verdict::NoMatch
        } else if score < topic.threshold {
            Verdict::BelowThreshold
        } else if let Some(group) = missing_group {
            Verdict::MissingRequired(group + 1)
        } else if vetoed && !overrides(strong_fields, veto_in_title) {
            Verdict::Vetoed
        } else {
            Verdict::Match
        };
        TopicEval {
            verdict,
            score,
            counted,
            ignored_generic,
            vetoes,
            strong: strong_fields.contains(&true),
        }
    }

    /// A topic's score: each occurrence adds the weight of its field, where hits that overlap or
    /// touch in the folded text are one occurrence ("그래픽 처리 장치(GPU)", "데이터센터" inside
    /// "AI 데이터센터"), and an occurrence made only of keywords already counted adds nothing.
    fn score(&self, counted: &[Evidence], topic: &Topic, occurrences: &[Occurrence]) -> f32 {
        let mut score = 0.0;
        self.walk_pieces(counted, topic, occurrences, |_, _, weight, _| {
            score += weight
        });
        score
    }

    /// The pieces of evidence behind a score, each with the weight it added. A piece in the
    /// summary weighs `summary_weight`, unless it holds a strong keyword of the topic within
    /// the lead: then it weighs as in the title.
    fn pieces<'a>(
        &'a self,
        counted: &[Evidence],
        topic: &Topic,
        occurrences: &[Occurrence],
    ) -> Vec<RawPiece<'a>> {
        let mut pieces = Vec::new();
        self.walk_pieces(
            counted,
            topic,
            occurrences,
            |field, hits, weight, strong_in_lead| {
                let mut keywords = Vec::new();
                for &k in hits {
                    let keyword = &*self.owners[counted[k].owner].keyword;
                    if !keywords.contains(&keyword) {
                        keywords.push(keyword);
                    }
                }
                pieces.push(RawPiece {
                    field,
                    keywords,
                    weight,
                    strong_in_lead, // only summary occurrences are in the lead
                });
            },
        );
        pieces
    }

    /// The pieces of [`Classifier::pieces`] without collecting them: `each` gets a piece's
    /// field, its hits (indices into `counted`), its weight and whether a strong keyword of it
    /// is in the lead. Scoring, on every item with evidence, allocates nothing (the order of
    /// the walk is kept in a buffer reused on each thread).
    fn walk_pieces(
        &self,
        counted: &[Evidence],
        topic: &Topic,
        occurrences: &[Occurrence],
        mut each: impl FnMut(Field, &[usize], f32, bool),
    ) {
        let occurrence = |k: usize| &occurrences[counted[k].occurrence];
        let keyword = |k: usize| &*self.owners[counted[k].owner].keyword;
        let mut order = WALK.take();
        order.clear();
        order.extend(0..counted.len());
        order.sort_by_key(|&k| {
            let o = occurrence(k);
            // (Title first, then by start and end: one integer to compare.)
            u128::from(o.field == Field::Summary) << 64
                | (o.folded.0 as u128) << 32
                | o.folded.1 as u128
        });
        let mut i = 0;
        while i < order.len() {
            let field = occurrence(order[i]).field;
            let mut end = occurrence(order[i]).folded.1;
            let mut fresh = false;
            let mut strong_in_lead = false;
            let mut j = i;
            while j < order.len()
                && occurrence(order[j]).field == field
                && occurrence(order[j]).folded.0 <= end
            {
                let o = occurrence(order[j]);
                end = end.max(o.folded.1);
                let strong = self.owners[counted[order[j]].owner].role == Role::Strong;
                strong_in_lead |= strong && o.lead;
                // A keyword not met earlier in the walk.
                fresh |= !order[..j].iter().any(|&k| keyword(k) == keyword(order[j]));
                j += 1;
            }
            let weight = match field {
                _ if !fresh => 0.0,
                Field::Title => topic.title_weight,
                Field::Summary if strong_in_lead => topic.title_weight,
                Field::Summary => topic.summary_weight,
            };
            each(field, &order[i..j], weight, strong_in_lead);
            i = j;
        }
        WALK.set(order);
    }

    /// The item's text as this classifier reads it (the summary cut at `summary_chars`).
    pub fn read(&self, title: &str, summary: &str) -> ItemText {
        ItemText::new(title, summary, self.summary_chars)
    }

    /// [`Classifier::read`] into `text`'s buffers.
    pub fn read_into(&self, text: &mut ItemText, title: &str, summary: &str) {
        text.set(title, summary, self.summary_chars);
    }

    /// The topics an item belongs to, in config order.
    pub fn classify(&self, title: &str, summary: &str) -> Vec<TopicMatch> {
        let read = crate::fold::first_chars(summary, self.summary_chars);
        self.classify_fields(title, read)
    }

    /// [`Classifier::classify`] of a text already read (shared with the watch words).
    pub fn classify_text(&self, text: &ItemText) -> Vec<TopicMatch> {
        self.classify_fields(&text.title, &text.summary)
    }

    /// [`Classifier::classify`] of a title and the part of the summary that is read.
    fn classify_fields(&self, title: &str, summary: &str) -> Vec<TopicMatch> {
        let mut occurrences = OCCURRENCES.take();
        occurrences.clear();
        SCRATCH.with_borrow_mut(|scratch| {
            self.occurrences(title, Field::Title, scratch, &mut occurrences);
            self.occurrences(summary, Field::Summary, scratch, &mut occurrences);
        });
        // Fast path: nothing that belongs to a topic matched.
        if !occurrences.iter().any(|o| self.patterns[o.pattern].topical) {
            OCCURRENCES.set(occurrences);
            return Vec::new();
        }
        let mut evidence = EVIDENCE.take();
        let filed = self.gather(&occurrences, &mut evidence);
        let matches = self
            .decisions(&filed, &occurrences, title)
            .filter(|(_, e)| e.verdict == Verdict::Match)
            .map(|(t, e)| {
                let t = &self.topics[t];
                let mut keywords: Vec<Arc<str>> = Vec::new();
                for evidence in e.counted {
                    let keyword = &self.owners[evidence.owner].keyword;
                    if !keywords.iter().any(|k| **k == **keyword) {
                        keywords.push(keyword.clone());
                    }
                }
                TopicMatch {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    hashtag: t.hashtag.clone(),
                    keywords,
                }
            })
            .collect();
        EVIDENCE.set(evidence);
        OCCURRENCES.set(occurrences);
        matches
    }

    /// Explains the decision for every topic.
    pub fn explain(&self, title: &str, summary: &str) -> Explanation {
        let text = self.read(title, summary);
        let (mut title, mut summary) = (Scratch::default(), Scratch::default());
        let mut occurrences = Vec::new();
        self.occurrences(&text.title, Field::Title, &mut title, &mut occurrences);
        self.occurrences(
            &text.summary,
            Field::Summary,
            &mut summary,
            &mut occurrences,
        );
        let mut evidence = Vec::new();
        let filed = self.gather(&occurrences, &mut evidence);
        let decided: Vec<(usize, TopicEval)> =
            self.decisions(&filed, &occurrences, &text.title).collect();
        let hit = |e: &Evidence| {
            let o = &occurrences[e.occurrence];
            let text = match o.field {
                Field::Title => &title.origins.nfkc,
                Field::Summary => &summary.origins.nfkc,
            };
            KeywordHit {
                keyword: self.owners[e.owner].keyword.to_string(),
                field: o.field,
                text: text[o.original.0..o.original.1].to_owned(),
            }
        };
        let hits = |list: &[Evidence]| list.iter().map(hit).collect::<Vec<_>>();
        let vetoes = |e: &TopicEval| {
            e.vetoes
                .iter()
                .flat_map(|list| list.iter())
                .map(hit)
                .collect()
        };
        let none = TopicEval::none();
        let decision = |t: usize| match decided.binary_search_by_key(&t, |&(u, _)| u) {
            Ok(at) => &decided[at].1,
            Err(_) => &none,
        };
        Explanation {
            anchors: hits(filed.anchors),
            global_vetoes: hits(filed.global_vetoes),
            topics: self
                .topics
                .iter()
                .enumerate()
                .map(|(index, t)| (decision(index), t))
                .map(|(e, t)| TopicExplanation {
                    id: t.id.to_string(),
                    name: t.name.to_string(),
                    decision: match e.verdict {
                        Verdict::Match => Decision::Match,
                        Verdict::NoMatch => Decision::NoMatch,
                        Verdict::BelowThreshold => Decision::BelowThreshold,
                        Verdict::MissingRequired(group) => Decision::MissingRequired { group },
                        Verdict::Vetoed => Decision::Vetoed { by: vetoes(e) },
                    },
                    score: e.score,
                    threshold: t.threshold,
                    counted: hits(e.counted),
                    ignored_generic: hits(e.ignored_generic),
                    strong: e.strong,
                    pieces: self
                        .pieces(e.counted, t, &occurrences)
                        .into_iter()
                        .map(|p| Piece {
                            field: p.field,
                            keywords: p.keywords.into_iter().map(str::to_owned).collect(),
                            weight: p.weight,
                            strong_in_lead: p.strong_in_lead,
                        })
                        .collect(),
                    overridden: if e.verdict == Verdict::Match {
                        vetoes(e)
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }
    }
}

/// Whether a strong keyword overrides the vetoes: it must be at least as prominent as they are
/// (a veto in the title is only overridden by a strong keyword in the title).
/// `strong_in` says whether a strong keyword matched in the title and in the summary.
fn overrides(strong_in: [bool; 2], veto_in_title: bool) -> bool {
    let [title, summary] = strong_in;
    title || (summary && !veto_in_title)
}

/// Collects distinct folded patterns and the keywords behind each.
#[derive(Default)]
struct PatternSet {
    scanner: ScannerBuilder,
    patterns: Vec<Pattern>,
    owners: Vec<Owner>,
    /// `[classify] synonyms`: a keyword is added in every spelling they give it.
    synonyms: Vec<Vec<String>>,
}

/// Spellings a keyword gets from synonym classes at most (the keyword itself included).
const MAX_SPELLINGS: usize = 32;

/// Where `member` occurs in `text` as a whole word where it has Latin edges (ASCII case
/// ignored): the byte offset of the first such occurrence.
fn find_member(text: &str, member: &str) -> Option<usize> {
    let (haystack, needle) = (text.to_ascii_lowercase(), member.to_ascii_lowercase());
    let needs_left = needle.chars().next().is_some_and(is_word_char);
    let needs_right = needle.chars().next_back().is_some_and(is_word_char);
    let mut from = 0;
    while let Some(found) = haystack[from..].find(&needle) {
        let at = from + found;
        let end = at + needle.len();
        let left_ok = !needs_left || !haystack[..at].chars().next_back().is_some_and(is_word_char);
        let right_ok = !needs_right || !haystack[end..].chars().next().is_some_and(is_word_char);
        if left_ok && right_ok {
            return Some(at);
        }
        from = at + haystack[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// `keyword` first, then its spellings with each synonym class's member it contains replaced by
/// every other member of the class (classes combine: `AI 디바이스` → `인공지능 기기`).
pub fn synonym_spellings(keyword: &str, classes: &[Vec<String>]) -> Vec<String> {
    let mut spellings = vec![keyword.to_owned()];
    for class in classes {
        let mut more = Vec::new();
        for spelling in &spellings {
            let Some((member, at)) = class
                .iter()
                .find_map(|m| find_member(spelling, m).map(|at| (m, at)))
            else {
                continue;
            };
            for other in class.iter().filter(|o| *o != member) {
                let mut variant = spelling.clone();
                variant.replace_range(at..at + member.len(), other);
                more.push(variant);
            }
        }
        for variant in more {
            if spellings.len() >= MAX_SPELLINGS {
                break;
            }
            if !spellings.contains(&variant) {
                spellings.push(variant);
            }
        }
    }
    spellings
}

impl PatternSet {
    /// Adds `keyword` in every spelling its synonyms give it, all standing for the keyword.
    fn add(&mut self, keyword: &str, role: Role, topic: Option<usize>) {
        for spelling in synonym_spellings(keyword, &self.synonyms) {
            self.add_spelling(&spelling, keyword, role, topic);
        }
    }

    fn add_spelling(&mut self, spelling: &str, keyword: &str, role: Role, topic: Option<usize>) {
        // Config validation rejects keywords that fold to nothing: nothing to search for.
        let Some(slot) = self.scanner.slot(spelling) else {
            return;
        };
        if slot == self.patterns.len() {
            self.patterns.push(Pattern {
                owners: Vec::new(),
                topical: false,
            });
        }
        // Two spellings of one keyword in the same role ("인공지능 반도체", "인공지능반도체") are one
        // keyword: keep the first, so notices and explanations do not list it twice.
        let pattern = &self.patterns[slot];
        if pattern
            .owners
            .iter()
            .any(|&o| self.owners[o].role == role && self.owners[o].topic == topic)
        {
            return;
        }
        // The spellings of one keyword share its owner: evidence counts the keyword once.
        let owner = match self.owners.last() {
            Some(last) if last.role == role && last.topic == topic && &*last.keyword == keyword => {
                self.owners.len() - 1
            }
            _ => {
                self.owners.push(Owner {
                    role,
                    topic,
                    keyword: Arc::from(keyword),
                });
                self.owners.len() - 1
            }
        };
        let pattern = &mut self.patterns[slot];
        pattern.owners.push(owner);
        pattern.topical |= topic.is_some();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn classifier(keywords: &[&str]) -> Classifier {
        let list = keywords
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text =
            format!("[[topic]]\nid = \"t\"\nname = \"T\"\nhashtag = \"#T\"\nkeywords = [{list}]\n");
        let config = crate::config::Config::parse(Path::new("t.toml"), &text).unwrap();
        Classifier::new(&config.classify, &config.topics).unwrap()
    }

    fn matches(c: &Classifier, text: &str) -> bool {
        !c.classify(text, "").is_empty()
    }

    #[test]
    fn spacing_punctuation_and_width_do_not_break_matches() {
        let c = classifier(&["AI반도체"]);
        for text in [
            "AI 반도체",
            "AI·반도체",
            "ＡＩ반도체",
            "AI-반도체",
            "ai반도체를",
            "국산 AI반도체의",
        ] {
            assert!(matches(&c, text), "{text}");
        }
        assert!(!matches(&c, "반도체 AI"));
        let c = classifier(&["AI 기본법"]);
        assert!(matches(&c, "AI기본법 시행"));
    }

    #[test]
    fn latin_edges_need_word_boundaries() {
        let c = classifier(&["AI"]);
        for text in ["AI반도체", "(AI)", "생성형 AI", "K-AI 모델"] {
            assert!(matches(&c, text), "{text}");
        }
        for text in ["MAIN", "Taiwan", "SAID"] {
            assert!(!matches(&c, text), "{text}");
        }
        let c = classifier(&["NPU", "PIM", "HBM"]);
        assert!(!matches(&c, "INPUT"));
        assert!(!matches(&c, "PIMCO"));
        assert!(!matches(&c, "HBM3E 양산"));
        assert!(matches(&c, "HBM 양산"));
        let c = classifier(&["HBM*"]);
        assert!(matches(&c, "HBM3E 양산"));
    }

    fn from_toml(text: &str) -> Classifier {
        let config = crate::config::Config::parse(Path::new("t.toml"), text).unwrap();
        Classifier::new(&config.classify, &config.topics).unwrap()
    }

    fn decision(c: &Classifier, title: &str, summary: &str) -> Decision {
        c.explain(title, summary).topics[0].decision.clone()
    }

    const RULES: &str = r##"
[classify]
anchors = ["AI", "인공지능", "반도체"]
exclude = ["수출입 동향", "과장급 인사"]

[[topic]]
id = "chips"
name = "AI반도체"
hashtag = "#AI반도체"
keywords = ["NPU", "AI칩"]
strong = ["AI반도체"]
generic = ["팹리스"]
exclude = ["주가"]
"##;

    /// Rules that generalise beyond titles seen (the relevance issue): each with the title that
    /// shows it and its counterpart.
    const GENERAL: &str = r##"
[classify]
anchors = ["AI", "인공지능", "반도체"]
exclude = ["원전", "양자 기술", "수출입 동향"]
not_anchors = ["AI 전환", "AX"]
synonyms = [["AI", "인공지능", "에이아이"], ["디바이스", "기기"], ["펀드", "기금"], ["GPU", "그래픽 처리 장치"]]

[[topic]]
id = "t"
name = "T"
hashtag = "#T"
strong = ["기술번영 MOU", "AI반도체"]
keywords = ["AI 디바이스", "반도체 생태계 펀드", "첨단 GPU"]
generic = ["펀드", "유럽연합", "EU", "공동연구", "해외 실증", "AI 3대 강국"]
require = [["AI", "인공지능", "반도체"]]
"##;

    #[test]
    fn a_keyword_matches_in_every_spelling_its_synonyms_give_it() {
        let c = from_toml(GENERAL);
        assert_eq!(decision(&c, "인공지능 기기 실증 착수", ""), Decision::Match);
        assert_eq!(
            decision(&c, "에이아이(AI) 디바이스 보급", ""),
            Decision::Match
        );
        // A Korean word with its loanword in brackets, and an acronym spelled out.
        assert_eq!(
            decision(&c, "반도체 생태계 기금(펀드) 조성", ""),
            Decision::Match
        );
        assert_eq!(
            decision(&c, "AI 연구에 첨단 그래픽 처리 장치 지원", ""),
            Decision::Match
        );
        // A Latin member is replaced only where it is a whole word.
        let spellings = synonym_spellings("XAI 기법", &[vec!["AI".into(), "인공지능".into()]]);
        assert_eq!(spellings, ["XAI 기법"]);
        let spellings = synonym_spellings("AI 디바이스", &from_config(GENERAL).synonyms);
        assert!(
            spellings.contains(&"인공지능 기기".to_owned()),
            "{spellings:?}"
        );
    }

    fn from_config(text: &str) -> crate::config::ClassifyConfig {
        crate::config::Config::parse(Path::new("t.toml"), text)
            .unwrap()
            .classify
    }

    #[test]
    fn a_strong_keyword_needs_no_required_word_beside_it() {
        let c = from_toml(GENERAL);
        assert_eq!(decision(&c, "기술번영 MOU 후속 논의", ""), Decision::Match);
        assert_eq!(
            decision(&c, "반도체 생태계 펀드 후속 논의", "").clone(),
            Decision::Match,
            "a keyword with its required word (반도체) inside"
        );
    }

    #[test]
    fn a_generic_in_the_title_needs_its_anchor_in_the_title() {
        let c = from_toml(GENERAL);
        // The body names AI somewhere; the title's fund is another field's.
        assert_eq!(
            decision(
                &c,
                "사이버보안 기금(펀드) 운용사 모집",
                "인공지능 보안 기업에 투자"
            ),
            Decision::NoMatch
        );
        assert_eq!(
            decision(&c, "AI 분야 펀드 운용사 모집", ""),
            Decision::Match
        );
        // Generic words only in the summary still count beside an anchor there.
        assert_ne!(
            decision(&c, "운용사 모집 공고", "인공지능 펀드를 만든다"),
            Decision::NoMatch
        );
        // AI used in another field is no anchor; an anchor inside a generic word is that word.
        assert_eq!(
            decision(&c, "AI 전환 기업 해외 실증 지원", ""),
            Decision::NoMatch
        );
        assert_eq!(
            decision(&c, "인공지능 3대 강국 도약 토대", ""),
            Decision::NoMatch
        );
    }

    #[test]
    fn two_generic_words_apart_in_the_title_are_evidence_a_word_and_its_synonym_are_not() {
        let c = from_toml(GENERAL);
        assert_eq!(
            decision(&c, "해외 실증 공동연구 착수", "반도체 기업"),
            Decision::Match
        );
        assert_eq!(
            decision(&c, "해외 실증 착수", "반도체 기업"),
            Decision::NoMatch
        );
        assert_eq!(
            decision(&c, "유럽연합(EU) 화학물질 규제 대응", "반도체 공정"),
            Decision::NoMatch
        );
    }

    #[test]
    fn a_global_veto_listed_with_the_topics_keyword_is_a_side_mention() {
        let c = from_toml(GENERAL);
        assert_eq!(
            decision(&c, "AI반도체와 양자 기술 공동연구", ""),
            Decision::Match
        );
        assert_eq!(
            decision(&c, "인공지능 기기·양자 기술 실증", ""),
            Decision::Match
        );
        // Not listed: the release is about the vetoed subject.
        assert!(matches!(
            decision(&c, "양자 기술 동향: 인공지능 기기 활용", ""),
            Decision::Vetoed { .. }
        ));
    }

    #[test]
    fn a_short_hangul_veto_is_not_found_across_words() {
        let c = from_toml(GENERAL);
        for title in [
            "AI 디바이스 지원 전략",
            "AI 디바이스에 1조 원 전용",
            "AI 디바이스 위원 전원 참석",
        ] {
            assert_eq!(decision(&c, title, ""), Decision::Match, "{title}");
        }
        assert!(matches!(
            decision(&c, "원전 AI 디바이스 실증", ""),
            Decision::Vetoed { .. }
        ));
    }

    #[test]
    fn generic_words_need_a_keyword_or_an_anchor() {
        let c = from_toml(RULES);
        let e = c.explain("팹리스 지원사업 공고", "");
        assert_eq!(e.topics[0].decision, Decision::NoMatch);
        assert_eq!(e.topics[0].ignored_generic[0].keyword, "팹리스");
        // With an anchor in the item, the generic word counts.
        assert_eq!(
            decision(&c, "인공지능 팹리스 지원사업 공고", ""),
            Decision::Match
        );
    }

    #[test]
    fn exclusions_veto_unless_a_strong_keyword_matched() {
        let c = from_toml(RULES);
        match decision(&c, "NPU 기업 주가 급등", "") {
            Decision::Vetoed { by } => assert_eq!(by[0].keyword, "주가"),
            other => panic!("{other:?}"),
        }
        match decision(&c, "2026년 4월 ICT 수출입 동향: NPU 수출 증가", "") {
            Decision::Vetoed { by } => assert_eq!(by[0].keyword, "수출입 동향"),
            other => panic!("{other:?}"),
        }
        // A strong keyword overrides both topic and global vetoes.
        assert_eq!(
            decision(&c, "AI반도체 수출입 동향 특별 분석", ""),
            Decision::Match
        );
    }

    #[test]
    fn summary_hits_weigh_less_than_title_hits() {
        let c = from_toml(RULES);
        // One keyword in the summary: 1.0 < threshold 2.0.
        let e = c.explain("중소기업 지원 확대", "NPU 기업 포함");
        assert_eq!(e.topics[0].decision, Decision::BelowThreshold);
        assert_eq!(e.topics[0].score, 1.0);
        // Two distinct keywords in the summary reach it.
        assert_eq!(
            decision(&c, "중소기업 지원 확대", "NPU와 AI칩 기업 포함"),
            Decision::Match
        );
        // The same keyword twice scores once.
        let e = c.explain("중소기업 지원 확대", "NPU 기업, NPU 제품");
        assert_eq!(e.topics[0].score, 1.0);
    }

    #[test]
    fn require_groups_must_each_match() {
        let c = from_toml(
            r##"
[[topic]]
id = "talent"
name = "인재"
hashtag = "#인재"
keywords = ["인재 양성"]
require = [["AI", "인공지능", "반도체"]]
"##,
        );
        assert_eq!(
            decision(&c, "과학관 인재 양성 캠프", ""),
            Decision::MissingRequired { group: 1 }
        );
        assert_eq!(decision(&c, "반도체 인재 양성 사업", ""), Decision::Match);
    }

    #[test]
    fn explanation_reports_fields_and_original_spans() {
        let c = from_toml(RULES);
        let e = c.explain("ＡＩ·반도체 육성", "국산 NPU 보급");
        let t = &e.topics[0];
        assert_eq!(t.decision, Decision::Match);
        let spans: Vec<(&str, Field, &str)> = t
            .counted
            .iter()
            .map(|h| (h.keyword.as_str(), h.field, h.text.as_str()))
            .collect();
        assert!(
            spans.contains(&("AI반도체", Field::Title, "AI·반도체")),
            "{spans:?}"
        );
        assert!(spans.contains(&("NPU", Field::Summary, "NPU")), "{spans:?}");
        assert_eq!(
            c.classify("ＡＩ·반도체 육성", "")[0].keywords,
            vec![Arc::from("AI반도체")]
        );
    }

    #[test]
    fn spellings_of_one_keyword_are_listed_once() {
        let c = classifier(&["인공지능 반도체", "인공지능반도체", "NPU"]);
        assert_eq!(
            c.classify("인공지능 반도체 NPU 실증", "")[0].keywords,
            vec![Arc::from("인공지능 반도체"), Arc::from("NPU")]
        );
    }

    #[test]
    fn spellings_are_distinct_and_start_on_a_character() {
        for count in [1, 2, 255, 256, 321, 16_256, 16_257, 65_535] {
            let all = spellings(count);
            assert_eq!(all.len(), count);
            let bytes = |s: Spelling| s.to_le_bytes()[..(s >> 24) as usize].to_vec();
            let distinct: std::collections::HashSet<Vec<u8>> =
                all.iter().map(|&s| bytes(s)).collect();
            assert_eq!(distinct.len(), count, "{count}: spellings repeat");
            // A byte that follows another in some spelling never starts one: a match can only
            // start where a character does. Byte 0 is for characters of no pattern.
            let trails: std::collections::HashSet<u8> =
                all.iter().flat_map(|&s| bytes(s)[1..].to_vec()).collect();
            for s in &all {
                let b = bytes(*s);
                assert!(!b.is_empty() && !b.contains(&0), "{count}: {b:?}");
                assert!(
                    !trails.contains(&b[0]),
                    "{count}: {b:?} starts with a trail byte"
                );
            }
            let longest = all.iter().map(|&s| s >> 24).max().unwrap();
            let expected = match count {
                ..=255 => 1,
                256..=16_256 => 2,
                _ => 3,
            };
            assert_eq!(longest, expected, "{count}");
        }
    }

    /// Words over `distinct` characters (Hangul, which takes the fast path, and CJK
    /// ideographs, which do not), each character in some word.
    fn words_over(distinct: usize) -> Vec<String> {
        let chars: Vec<char> = (0..distinct as u32)
            .map(|k| match k % 2 {
                0 => char::from_u32(0xAC00 + k / 2).unwrap(),
                _ => char::from_u32(0x4E00 + k / 2).unwrap(),
            })
            .collect();
        chars.chunks(3).map(|w| w.iter().collect()).collect()
    }

    #[test]
    fn wide_alphabets_find_exactly_what_folding_and_searching_finds() {
        // 40 characters: one byte each; 300: some two; 17,000: three (and more patterns than
        // a DFA may hold: the NFA). Each also with the NFA whatever its size.
        for (distinct, dfa) in [(40, true), (300, true), (17_000, false)] {
            let words = words_over(distinct);
            let k = Keywords::new(words.iter().map(String::as_str)).unwrap();
            assert_eq!(
                matches!(k.scanner.automaton, Engine::Dfa(_)),
                dfa,
                "{distinct} characters"
            );
            // Within the budget either way (the estimate is an upper bound).
            assert!(k.scanner.automaton.memory_usage() <= DFA_BUDGET);
            let nfa = Keywords::within(words.iter().map(String::as_str), 0).unwrap();
            assert!(matches!(nfa.scanner.automaton, Engine::Nfa(_)));
            let step = (words.len() / 40).max(1);
            for (i, word) in words.iter().enumerate().step_by(step) {
                let mut chars: Vec<char> = word.chars().collect();
                // The word spaced out, and a near miss: its last character replaced by the
                // next word's first.
                let spaced: String = chars.iter().map(|c| format!("{c} ")).collect();
                let next = words[(i + 1) % words.len()].chars().next().unwrap();
                *chars.last_mut().unwrap() = next;
                let near: String = chars.iter().collect();
                for text in [format!("앞 {spaced}뒤"), format!("「{near}」 ·")] {
                    let folded = normalize(&text).folded;
                    let expected: Vec<usize> = (0..words.len())
                        .filter(|&w| folded.contains(&fold_keyword(&words[w])))
                        .collect();
                    for k in [&k, &nfa] {
                        assert_eq!(
                            k.find(&ItemText::new(&text, "", 600)),
                            expected,
                            "{distinct} characters, {text:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn keywords_follow_the_classifier_rules_and_report_which_words_matched() {
        let words = ["퓨리오사", "HBM*", "NPU", "퓨리 오사", "!!"];
        let k = Keywords::new(words.iter().copied()).unwrap();
        assert_eq!(k.len(), 5);
        let found = |title: &str, summary: &str| k.find(&ItemText::new(title, summary, 600));
        // Spacing ignored, Hangul inside words, both spellings of one word reported.
        assert_eq!(found("퓨리오사AI, 신규 칩 공개", ""), vec![0, 3]);
        assert_eq!(found("HBM3E 양산", "NPU 탑재"), vec![1, 2]);
        // Latin edges: INPUT is no NPU; a word of punctuation never matches.
        assert!(found("INPUT 장치 !!", "").is_empty());
        // The summary is read only up to the bound.
        let late = format!("{}NPU", "가".repeat(10));
        assert!(k.find(&ItemText::new("", &late, 5)).is_empty());
        assert!(k.matches(&ItemText::new("", &late, 600)));
    }
}
