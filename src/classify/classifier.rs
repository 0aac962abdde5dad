//! The classifier and what it answers: the topics an item matched, and where.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::coordination::Junctions;
use super::rules::{Owner, Pattern, Topic};
use super::scan::Scanner;

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
    pub(super) scanner: Scanner,
    /// Which coordinated readings can hold a keyword (see `coordination`).
    pub(super) junctions: Junctions,
    pub(super) patterns: Vec<Pattern>,
    pub(super) owners: Vec<Owner>,
    pub(super) topics: Vec<Topic>,
    pub(super) lead_chars: usize,
    pub(super) summary_chars: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the keyword automaton: {0}")]
pub struct BuildError(pub(super) String);
