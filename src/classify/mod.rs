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

//!
//! # Layout
//! - `scan`: folding and scanning in one pass, the edge rules, [`Keywords`] (watch words, `/search`);
//! - `coordination`: words listed with a middle dot read with the word they share;
//! - `rules`: the configured keywords as patterns, synonym spellings, building the [`Classifier`];
//! - `decide`: evidence per topic and kind, and each topic's verdict;
//! - `explain`: the reasoning behind every decision.

mod coordination;
mod decide;
mod explain;
mod rules;
mod scan;

pub use explain::{Decision, Explanation, KeywordHit, Piece, TopicExplanation};
pub use rules::synonym_spellings;
pub use scan::{ItemText, Keywords};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use rules::{Owner, Pattern, Topic};
use scan::Scanner;

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

/// The classifier built from one config load: one automaton over every keyword of every role.
#[derive(Debug)]
pub struct Classifier {
    scanner: Scanner,
    /// Which coordinated readings can hold a keyword (see `coordination`).
    junctions: coordination::Junctions,
    patterns: Vec<Pattern>,
    owners: Vec<Owner>,
    topics: Vec<Topic>,
    lead_chars: usize,
    summary_chars: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the keyword automaton: {0}")]
pub struct BuildError(String);

#[cfg(test)]
mod tests;
