//! Classification: a pure function from (title, summary) to the topics an item belongs to.
//!
//! Korean-aware matching. Text is normalised once (NFKC, lower-cased, whitespace and punctuation
//! removed) and every keyword of every topic is searched in one pass of one Aho-Corasick
//! automaton, so the cost does not grow with the number of topics. Hangul matches inside words
//! (particles: 반도체를), while a keyword edge made of Latin letters or digits must sit on a word
//! boundary of the (NFKC) original: `AI` matches "AI반도체" and "(AI)" but not "MAIN".
//! A trailing `*` on a keyword lifts the right-edge check (`HBM*` matches "HBM3E").

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::config::TopicConfig;

/// A topic an item matched, with the keywords that made it match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicMatch {
    pub id: String,
    pub name: String,
    pub hashtag: String,
    /// Configured keywords that matched, in order of first appearance.
    pub keywords: Vec<String>,
}

/// Where in the item a keyword matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Summary,
}

/// One keyword occurrence: which keyword, where, and the original text it covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub pattern: usize,
    pub field: Field,
    pub original: String,
}

/// Text prepared for matching: the normalised form and, for each of its bytes, the byte range of
/// the character it came from in the NFKC text (for boundary checks and explanations).
#[derive(Debug)]
pub struct Normalized {
    pub nfkc: String,
    pub folded: String,
    origin: Vec<(u32, u32)>,
}

/// Whitespace and punctuation that never break a match.
fn is_ignorable(c: char) -> bool {
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
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Normalises text for matching.
pub fn normalize(text: &str) -> Normalized {
    let nfkc: String = text.nfkc().collect();
    let mut folded = String::with_capacity(nfkc.len());
    let mut origin = Vec::with_capacity(nfkc.len());
    for (at, c) in nfkc.char_indices() {
        if is_ignorable(c) {
            continue;
        }
        let range = (at as u32, (at + c.len_utf8()) as u32);
        for lower in c.to_lowercase() {
            for _ in 0..lower.len_utf8() {
                origin.push(range);
            }
            folded.push(lower);
        }
    }
    Normalized {
        nfkc,
        folded,
        origin,
    }
}

/// The folded form of a keyword (what the automaton searches for).
pub fn fold_keyword(keyword: &str) -> String {
    normalize(keyword.trim_end_matches('*')).folded
}

/// One distinct folded pattern and which topic keywords it stands for.
#[derive(Debug)]
struct Pattern {
    /// (topic index, keyword text as configured)
    owners: Vec<(usize, String)>,
    check_left: bool,
    check_right: bool,
}

#[derive(Debug)]
struct Topic {
    id: String,
    name: String,
    hashtag: String,
}

/// The classifier built from one config load.
#[derive(Debug)]
pub struct Classifier {
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
    topics: Vec<Topic>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the keyword automaton: {0}")]
pub struct BuildError(String);

impl Classifier {
    pub fn new(topics: &[TopicConfig]) -> Result<Classifier, BuildError> {
        let mut index: HashMap<(String, bool), usize> = HashMap::new();
        let mut folded_patterns = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        for (t, topic) in topics.iter().enumerate() {
            for keyword in topic.keywords.get_ref() {
                let prefix = keyword.ends_with('*');
                let folded = fold_keyword(keyword);
                if folded.is_empty() {
                    continue;
                }
                let slot = *index.entry((folded.clone(), prefix)).or_insert_with(|| {
                    let trimmed = normalize(keyword.trim_end_matches('*')).nfkc;
                    let first = trimmed.chars().find(|c| !is_ignorable(*c));
                    let last = trimmed.chars().rev().find(|c| !is_ignorable(*c));
                    folded_patterns.push(folded.clone());
                    patterns.push(Pattern {
                        owners: Vec::new(),
                        check_left: first.is_some_and(is_word_char),
                        check_right: !prefix && last.is_some_and(is_word_char),
                    });
                    patterns.len() - 1
                });
                patterns[slot].owners.push((t, keyword.clone()));
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&folded_patterns)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Classifier {
            automaton,
            patterns,
            topics: topics
                .iter()
                .map(|t| Topic {
                    id: t.id().to_owned(),
                    name: t.name.clone(),
                    hashtag: t.hashtag.clone(),
                })
                .collect(),
        })
    }

    /// Every keyword occurrence in `text` that passes the boundary rules.
    pub fn hits(&self, text: &Normalized, field: Field) -> Vec<Hit> {
        let mut hits = Vec::new();
        for m in self.automaton.find_overlapping_iter(&text.folded) {
            let pattern = &self.patterns[m.pattern().as_usize()];
            let start = text.origin[m.start()].0 as usize;
            let end = text.origin[m.end() - 1].1 as usize;
            if pattern.check_left
                && text.nfkc[..start]
                    .chars()
                    .next_back()
                    .is_some_and(is_word_char)
            {
                continue;
            }
            if pattern.check_right && text.nfkc[end..].chars().next().is_some_and(is_word_char) {
                continue;
            }
            hits.push(Hit {
                pattern: m.pattern().as_usize(),
                field,
                original: text.nfkc[start..end].to_owned(),
            });
        }
        hits
    }

    /// The topics an item belongs to, in config order.
    pub fn classify(&self, title: &str, summary: &str) -> Vec<TopicMatch> {
        let mut hits = self.hits(&normalize(title), Field::Title);
        hits.extend(self.hits(&normalize(summary), Field::Summary));
        let mut matches: Vec<Option<TopicMatch>> = vec![None; self.topics.len()];
        for hit in &hits {
            for (t, keyword) in &self.patterns[hit.pattern].owners {
                let topic = &self.topics[*t];
                let entry = matches[*t].get_or_insert_with(|| TopicMatch {
                    id: topic.id.clone(),
                    name: topic.name.clone(),
                    hashtag: topic.hashtag.clone(),
                    keywords: Vec::new(),
                });
                if !entry.keywords.contains(keyword) {
                    entry.keywords.push(keyword.clone());
                }
            }
        }
        matches.into_iter().flatten().collect()
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
        Classifier::new(&config.topics).unwrap()
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
}
