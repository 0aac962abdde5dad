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
//! - `classifier`: the [`Classifier`] and its answers ([`TopicMatch`], [`Field`]);
//! - `coordination`: words listed with a middle dot read with the word they share;
//! - `rules`: the configured keywords as patterns, synonym spellings, building the [`Classifier`];
//! - `decide`: evidence per topic and kind, and each topic's verdict;
//! - `explain`: the reasoning behind every decision.

mod classifier;
mod coordination;
mod decide;
mod explain;
mod rules;
mod scan;

pub use classifier::{BuildError, Classifier, Field, TopicMatch};
pub use explain::{Decision, Explanation, KeywordHit, Piece, TopicExplanation};
pub use rules::synonym_spellings;
pub use scan::{ItemText, Keywords};

#[cfg(test)]
mod tests;
