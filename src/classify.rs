//! Classification: a pure function from (title, summary) to the topics an item belongs to, with
//! an explanation of every decision.
//!
//! Korean-aware matching. Text is normalised once (NFKC per character, Latin lower-cased,
//! whitespace and punctuation removed) and every keyword of every role of every topic is searched
//! in one pass of one Aho-Corasick automaton, so the cost does not grow with the number of topics.
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
    Normalized, fold_keyword, is_ignorable, is_word_char, normalize, normalize_into,
};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use serde::{Deserialize, Serialize};

/// A topic an item matched, with the keywords that made it match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMatch {
    pub id: String,
    pub name: String,
    pub hashtag: String,
    /// Configured keywords that counted, in order of appearance (title first).
    pub keywords: Vec<String>,
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
}

impl Edges {
    /// The edges of a keyword as configured (`*` at the end lifts the right edge).
    fn of(keyword: &str) -> Edges {
        let nfkc = normalize(keyword.trim_end_matches('*')).nfkc;
        let first = nfkc.chars().find(|c| !is_ignorable(*c));
        let last = nfkc.chars().rev().find(|c| !is_ignorable(*c));
        Edges {
            left: first.is_some_and(is_word_char),
            right: !keyword.ends_with('*') && last.is_some_and(is_word_char),
        }
    }
}

/// One automaton over folded patterns, and the edge rule of each: the matching engine shared by
/// the classifier, subscribers' watch words and `/search`, so that a word means the same
/// everywhere.
#[derive(Debug)]
struct Scanner {
    automaton: AhoCorasick,
    edges: Vec<Edges>,
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

    fn build(self) -> Result<Scanner, BuildError> {
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&self.folded)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Scanner {
            automaton,
            edges: self.edges,
        })
    }
}

impl Scanner {
    /// Every occurrence of every pattern in `text` that passes its edge rule, overlapping ones
    /// included.
    fn scan(&self, text: &Normalized, mut found: impl FnMut(Found)) {
        for m in self.automaton.find_overlapping_iter(&text.folded) {
            let pattern = m.pattern().as_usize();
            let edges = self.edges[pattern];
            let (start, end) = text.original_range(m.start(), m.end());
            if edges.left
                && text.nfkc[..start]
                    .chars()
                    .next_back()
                    .is_some_and(is_word_char)
            {
                continue;
            }
            if edges.right && text.nfkc[end..].chars().next().is_some_and(is_word_char) {
                continue;
            }
            found(Found {
                pattern,
                folded: (m.start(), m.end()),
                original: (start, end),
            });
        }
    }
}

/// An item's text as matching reads it: the title and the read part of the summary, each
/// normalised once, so the classifier and the watch words share the work.
#[derive(Debug, Default)]
pub struct ItemText {
    title: Normalized,
    summary: Normalized,
}

impl ItemText {
    /// `title` and the first `summary_chars` characters of `summary`, normalised.
    pub fn new(title: &str, summary: &str, summary_chars: usize) -> ItemText {
        let mut text = ItemText::default();
        text.set(title, summary, summary_chars);
        text
    }

    /// Replaces the text with another item's, reusing the buffers (a loop over many items
    /// allocates nothing once they have grown).
    pub fn set(&mut self, title: &str, summary: &str, summary_chars: usize) {
        let read = crate::fold::first_chars(summary, summary_chars);
        normalize_into(title, &mut self.title);
        normalize_into(read, &mut self.summary);
    }
}

thread_local! {
    /// [`Classifier::classify`]'s buffers, reused from call to call on each thread.
    static SCRATCH: std::cell::RefCell<ItemText> = std::cell::RefCell::default();
    /// [`Classifier::classify_text`]'s list of occurrences, likewise.
    static OCCURRENCES: std::cell::Cell<Vec<Occurrence>> = const { std::cell::Cell::new(Vec::new()) };
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
            scanner: builder.build()?,
            words_of,
            len,
        })
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
        for field in [&text.title, &text.summary] {
            self.scanner.scan(field, |f| hit[f.pattern] = true);
        }
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
    pub fn matches(&self, text: &ItemText) -> bool {
        let mut any = false;
        self.scanner.scan(&text.title, |_| any = true);
        if !any {
            self.scanner.scan(&text.summary, |_| any = true);
        }
        any
    }
}

#[derive(Debug)]
struct Topic {
    id: String,
    name: String,
    hashtag: String,
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

/// One owner (configured keyword) of one occurrence.
#[derive(Debug, Clone, Copy)]
struct Evidence {
    owner: usize,
    occurrence: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Match,
    NoMatch,
    BelowThreshold,
    MissingRequired(usize),
    Vetoed,
}

#[derive(Debug, Default)]
struct TopicHits {
    keywords: Vec<Evidence>,
    generic: Vec<Evidence>,
    excludes: Vec<Evidence>,
    /// Fields in which a strong keyword matched.
    strong_fields: Vec<Field>,
    groups_met: Vec<usize>,
}

#[derive(Debug)]
struct TopicEval {
    verdict: Verdict,
    score: f32,
    counted: Vec<Evidence>,
    ignored_generic: Vec<Evidence>,
    vetoes: Vec<Evidence>,
    strong: bool,
}

/// Everything decided about one item, before any string is made.
struct Evaluation {
    occurrences: Vec<Occurrence>,
    anchors: Vec<Evidence>,
    global_vetoes: Vec<Evidence>,
    topics: Vec<TopicEval>,
}

impl Classifier {
    pub fn new(
        classify: &ClassifyConfig,
        topics: &[TopicConfig],
    ) -> Result<Classifier, BuildError> {
        let mut builder = PatternSet::default();
        for keyword in &classify.anchors {
            builder.add(keyword, Role::Anchor, None);
        }
        for keyword in &classify.exclude {
            builder.add(keyword, Role::GlobalExclude, None);
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
            scanner: builder.scanner.build()?,
            patterns: builder.patterns,
            owners: builder.owners,
            lead_chars: classify.lead_chars,
            summary_chars: classify.summary_chars,
            topics: topics
                .iter()
                .map(|t| Topic {
                    id: t.id().to_owned(),
                    name: t.name.clone(),
                    hashtag: t.hashtag.clone(),
                    title_weight: t.title_weight.unwrap_or(classify.title_weight),
                    summary_weight: t.summary_weight.unwrap_or(classify.summary_weight),
                    threshold: t.threshold.unwrap_or(classify.threshold),
                    require_groups: t.require.len(),
                })
                .collect(),
        })
    }

    /// Every pattern occurrence in `text` that passes the boundary rules.
    fn occurrences(&self, text: &Normalized, field: Field, out: &mut Vec<Occurrence>) {
        let lead_end = match field {
            Field::Title => 0,
            Field::Summary => crate::fold::first_chars(&text.nfkc, self.lead_chars).len(),
        };
        self.scanner.scan(text, |f| {
            out.push(Occurrence {
                pattern: f.pattern,
                field,
                folded: f.folded,
                original: f.original,
                lead: field == Field::Summary && f.original.0 < lead_end,
            })
        });
    }

    fn evaluate(&self, occurrences: Vec<Occurrence>) -> Evaluation {
        let mut anchors = Vec::new();
        let mut global_vetoes = Vec::new();
        let mut per_topic: Vec<TopicHits> = (0..self.topics.len())
            .map(|_| TopicHits::default())
            .collect();
        for (o, occurrence) in occurrences.iter().enumerate() {
            for &owner_index in &self.patterns[occurrence.pattern].owners {
                let owner = &self.owners[owner_index];
                let evidence = Evidence {
                    owner: owner_index,
                    occurrence: o,
                };
                let push = |list: &mut Vec<Evidence>| {
                    // The same keyword in the same field is one piece of evidence for explanations
                    // (scoring looks at occurrences separately).
                    let duplicate = list.iter().any(|e| {
                        e.owner == owner_index
                            && occurrences[e.occurrence].field == occurrence.field
                    });
                    if !duplicate {
                        list.push(evidence);
                    }
                };
                match (owner.role, owner.topic) {
                    (Role::Anchor, _) => push(&mut anchors),
                    (Role::GlobalExclude, _) => push(&mut global_vetoes),
                    (role, Some(t)) => {
                        let th = &mut per_topic[t];
                        match role {
                            Role::Keyword => push(&mut th.keywords),
                            Role::Strong => {
                                th.strong_fields.push(occurrence.field);
                                push(&mut th.keywords);
                            }
                            Role::Generic => push(&mut th.generic),
                            Role::Exclude => push(&mut th.excludes),
                            Role::Require(g) => th.groups_met.push(g),
                            Role::Anchor | Role::GlobalExclude => {}
                        }
                    }
                    (_, None) => {}
                }
            }
        }
        let anchored = !anchors.is_empty();
        let topics = self
            .topics
            .iter()
            .zip(per_topic)
            .map(|(topic, th)| self.decide(topic, th, anchored, &global_vetoes, &occurrences))
            .collect();
        Evaluation {
            occurrences,
            anchors,
            global_vetoes,
            topics,
        }
    }

    fn decide(
        &self,
        topic: &Topic,
        th: TopicHits,
        anchored: bool,
        global_vetoes: &[Evidence],
        occurrences: &[Occurrence],
    ) -> TopicEval {
        if th.keywords.is_empty() && th.generic.is_empty() {
            // No evidence at all (most topics for most items): nothing to score or veto.
            return TopicEval {
                verdict: Verdict::NoMatch,
                score: 0.0,
                counted: Vec::new(),
                ignored_generic: Vec::new(),
                vetoes: Vec::new(),
                strong: false,
            };
        }
        let generic_counts = !th.keywords.is_empty() || anchored;
        let mut counted = th.keywords;
        let mut ignored_generic = Vec::new();
        if generic_counts {
            counted.extend(th.generic);
        } else {
            ignored_generic = th.generic;
        }
        let score = self.score(&counted, topic, occurrences);
        let missing_group = (0..topic.require_groups).find(|g| !th.groups_met.contains(g));
        let vetoes: Vec<Evidence> = th.excludes.iter().chain(global_vetoes).copied().collect();
        // An exclusion only in the summary does not veto a topic whose evidence is in the
        // title: the title says what the release is about, a lead's passing mention does not.
        let evidence_in_title = counted
            .iter()
            .any(|e| occurrences[e.occurrence].field == Field::Title);
        // The vetoes that count, and whether one of them is in the title.
        let mut vetoed = false;
        let mut veto_in_title = false;
        for v in &vetoes {
            let field = occurrences[v.occurrence].field;
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
        } else if vetoed && !overrides(&th.strong_fields, veto_in_title) {
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
            strong: !th.strong_fields.is_empty(),
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
                for (_, keyword, _) in hits {
                    if !keywords.contains(keyword) {
                        keywords.push(*keyword);
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
    /// field, its hits (occurrence, keyword, strong), its weight and whether a strong keyword
    /// of it is in the lead. Scoring, on every item with evidence, allocates no pieces.
    fn walk_pieces<'a>(
        &'a self,
        counted: &[Evidence],
        topic: &Topic,
        occurrences: &[Occurrence],
        mut each: impl FnMut(Field, &[(&Occurrence, &'a str, bool)], f32, bool),
    ) {
        let mut hits: Vec<(&Occurrence, &str, bool)> = counted
            .iter()
            .map(|e| {
                let owner = &self.owners[e.owner];
                (
                    &occurrences[e.occurrence],
                    &*owner.keyword,
                    owner.role == Role::Strong,
                )
            })
            .collect();
        hits.sort_by_key(|(o, _, _)| (o.field == Field::Summary, o.folded.0, o.folded.1));
        let mut seen_keywords: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < hits.len() {
            let field = hits[i].0.field;
            let mut end = hits[i].0.folded.1;
            let mut fresh = false;
            let mut strong_in_lead = false;
            let mut j = i;
            while j < hits.len() && hits[j].0.field == field && hits[j].0.folded.0 <= end {
                end = end.max(hits[j].0.folded.1);
                strong_in_lead |= hits[j].2 && hits[j].0.lead;
                if !seen_keywords.contains(&hits[j].1) {
                    seen_keywords.push(hits[j].1);
                    fresh = true;
                }
                j += 1;
            }
            let weight = match field {
                _ if !fresh => 0.0,
                Field::Title => topic.title_weight,
                Field::Summary if strong_in_lead => topic.title_weight,
                Field::Summary => topic.summary_weight,
            };
            each(field, &hits[i..j], weight, strong_in_lead);
            i = j;
        }
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
        SCRATCH.with_borrow_mut(|text| {
            self.read_into(text, title, summary);
            self.classify_text(text)
        })
    }

    /// [`Classifier::classify`] of a text already read (shared with the watch words).
    pub fn classify_text(&self, text: &ItemText) -> Vec<TopicMatch> {
        let mut occurrences = OCCURRENCES.take();
        occurrences.clear();
        self.occurrences(&text.title, Field::Title, &mut occurrences);
        self.occurrences(&text.summary, Field::Summary, &mut occurrences);
        // Fast path: nothing that belongs to a topic matched.
        if !occurrences.iter().any(|o| self.patterns[o.pattern].topical) {
            OCCURRENCES.set(occurrences);
            return Vec::new();
        }
        let evaluation = self.evaluate(occurrences);
        let matches = evaluation
            .topics
            .iter()
            .zip(&self.topics)
            .filter(|(e, _)| e.verdict == Verdict::Match)
            .map(|(e, t)| {
                let mut keywords: Vec<String> = Vec::new();
                for evidence in &e.counted {
                    let keyword = &self.owners[evidence.owner].keyword;
                    if !keywords.iter().any(|k| **k == **keyword) {
                        keywords.push(keyword.to_string());
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
        OCCURRENCES.set(evaluation.occurrences);
        matches
    }

    /// Explains the decision for every topic.
    pub fn explain(&self, title: &str, summary: &str) -> Explanation {
        let ItemText { title, summary } = self.read(title, summary);
        let mut occurrences = Vec::new();
        self.occurrences(&title, Field::Title, &mut occurrences);
        self.occurrences(&summary, Field::Summary, &mut occurrences);
        let evaluation = self.evaluate(occurrences);
        let hit = |e: &Evidence| {
            let o = &evaluation.occurrences[e.occurrence];
            let text = match o.field {
                Field::Title => &title.nfkc,
                Field::Summary => &summary.nfkc,
            };
            KeywordHit {
                keyword: self.owners[e.owner].keyword.to_string(),
                field: o.field,
                text: text[o.original.0..o.original.1].to_owned(),
            }
        };
        let hits = |list: &[Evidence]| list.iter().map(hit).collect::<Vec<_>>();
        Explanation {
            anchors: hits(&evaluation.anchors),
            global_vetoes: hits(&evaluation.global_vetoes),
            topics: evaluation
                .topics
                .iter()
                .zip(&self.topics)
                .map(|(e, t)| TopicExplanation {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    decision: match e.verdict {
                        Verdict::Match => Decision::Match,
                        Verdict::NoMatch => Decision::NoMatch,
                        Verdict::BelowThreshold => Decision::BelowThreshold,
                        Verdict::MissingRequired(group) => Decision::MissingRequired { group },
                        Verdict::Vetoed => Decision::Vetoed {
                            by: hits(&e.vetoes),
                        },
                    },
                    score: e.score,
                    threshold: t.threshold,
                    counted: hits(&e.counted),
                    ignored_generic: hits(&e.ignored_generic),
                    strong: e.strong,
                    pieces: self
                        .pieces(&e.counted, t, &evaluation.occurrences)
                        .into_iter()
                        .map(|p| Piece {
                            field: p.field,
                            keywords: p.keywords.into_iter().map(str::to_owned).collect(),
                            weight: p.weight,
                            strong_in_lead: p.strong_in_lead,
                        })
                        .collect(),
                    overridden: if e.verdict == Verdict::Match {
                        hits(&e.vetoes)
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
fn overrides(strong_fields: &[Field], veto_in_title: bool) -> bool {
    if strong_fields.contains(&Field::Title) {
        return true;
    }
    !strong_fields.is_empty() && !veto_in_title
}

/// Collects distinct folded patterns and the keywords behind each.
#[derive(Default)]
struct PatternSet {
    scanner: ScannerBuilder,
    patterns: Vec<Pattern>,
    owners: Vec<Owner>,
}

impl PatternSet {
    fn add(&mut self, keyword: &str, role: Role, topic: Option<usize>) {
        // Config validation rejects keywords that fold to nothing: nothing to search for.
        let Some(slot) = self.scanner.slot(keyword) else {
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
        self.owners.push(Owner {
            role,
            topic,
            keyword: Arc::from(keyword),
        });
        let pattern = &mut self.patterns[slot];
        pattern.owners.push(self.owners.len() - 1);
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
            vec!["AI반도체"]
        );
    }

    #[test]
    fn spellings_of_one_keyword_are_listed_once() {
        let c = classifier(&["인공지능 반도체", "인공지능반도체", "NPU"]);
        assert_eq!(
            c.classify("인공지능 반도체 NPU 실증", "")[0].keywords,
            vec!["인공지능 반도체", "NPU"]
        );
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
