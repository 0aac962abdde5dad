//! The rules as configured: every keyword of every role of every topic (in every spelling its
//! synonym classes give it) as one set of patterns, each standing for the keywords behind it.

use std::collections::HashMap;
use std::sync::Arc;

use super::coordination::Junctions;
use super::scan::{DFA_BUDGET, ScannerBuilder};
use super::{BuildError, Classifier};
use crate::config::{ClassifyConfig, TopicConfig};
use crate::fold::is_word_char;

/// What a keyword does for a topic (or globally).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Role {
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
pub(super) struct Owner {
    pub(super) role: Role,
    /// Topic index; `None` for global roles (anchors, global excludes).
    pub(super) topic: Option<usize>,
    pub(super) keyword: Arc<str>,
}

/// One distinct folded pattern and the configured keywords it stands for.
#[derive(Debug)]
pub(super) struct Pattern {
    pub(super) owners: Vec<usize>,
    /// Whether any owner belongs to a topic (anchors and global excludes alone decide nothing).
    pub(super) topical: bool,
}

#[derive(Debug)]
pub(super) struct Topic {
    pub(super) id: Arc<str>,
    pub(super) name: Arc<str>,
    pub(super) hashtag: Arc<str>,
    pub(super) title_weight: f32,
    pub(super) summary_weight: f32,
    pub(super) threshold: f32,
    pub(super) require_groups: usize,
}

/// Collects distinct folded patterns and the keywords behind each.
#[derive(Default)]
pub(super) struct PatternSet {
    pub(super) scanner: ScannerBuilder,
    pub(super) patterns: Vec<Pattern>,
    pub(super) owners: Vec<Owner>,
    /// `[classify] synonyms`: a keyword is added in every spelling they give it.
    pub(super) synonyms: Vec<Vec<String>>,
    /// Every keyword to add, in config order: its own spelling goes in before any synonym's, so a
    /// word configured as a keyword is named as itself, not as another keyword's spelling.
    pub(super) keywords: Vec<(String, Role, Option<usize>)>,
    /// The owner of each (role, topic, keyword).
    pub(super) owner_of: HashMap<(Role, Option<usize>, String), usize>,
}

/// Spellings a keyword gets from synonym classes at most (the keyword itself included).
pub(super) const MAX_SPELLINGS: usize = 32;

/// Where `member` occurs in `text` as a whole word where it has Latin edges (ASCII case
/// ignored): the byte offset of the first such occurrence.
pub(super) fn find_member(text: &str, member: &str) -> Option<usize> {
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
    pub(super) fn add(&mut self, keyword: &str, role: Role, topic: Option<usize>) {
        self.keywords.push((keyword.to_owned(), role, topic));
    }

    /// Adds every keyword: first as configured, then in its synonyms' spellings.
    pub(super) fn add_all(&mut self) {
        let keywords = std::mem::take(&mut self.keywords);
        for (keyword, role, topic) in &keywords {
            self.add_spelling(keyword, keyword, *role, *topic);
        }
        for (keyword, role, topic) in &keywords {
            for spelling in synonym_spellings(keyword, &self.synonyms).iter().skip(1) {
                self.add_spelling(spelling, keyword, *role, *topic);
            }
        }
    }

    pub(super) fn add_spelling(
        &mut self,
        spelling: &str,
        keyword: &str,
        role: Role,
        topic: Option<usize>,
    ) {
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
        let next = self.owners.len();
        let owner = *self
            .owner_of
            .entry((role, topic, keyword.to_owned()))
            .or_insert(next);
        if owner == next {
            self.owners.push(Owner {
                role,
                topic,
                keyword: Arc::from(keyword),
            });
        }
        let pattern = &mut self.patterns[slot];
        pattern.owners.push(owner);
        pattern.topical |= topic.is_some();
    }
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
        builder.add_all();
        let junctions = Junctions::of(&builder.scanner.folded);
        Ok(Classifier {
            junctions,
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
}
