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
use unicode_normalization::char::is_combining_mark;

use crate::config::{ClassifyConfig, TopicConfig};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// Byte range in the folded text (for telling one occurrence from two).
    pub folded: (usize, usize),
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
        // Combining marks are dropped: removing punctuation between two of them would leave a
        // sequence that is not normalised (and folding would not be idempotent).
        for lower in c.to_lowercase().filter(|l| !is_combining_mark(*l)) {
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
    keyword: String,
}

/// One distinct folded pattern and the configured keywords it stands for.
#[derive(Debug)]
struct Pattern {
    owners: Vec<Owner>,
    check_left: bool,
    check_right: bool,
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
    automaton: AhoCorasick,
    patterns: Vec<Pattern>,
    topics: Vec<Topic>,
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
    /// Byte range in the folded field text.
    #[serde(skip)]
    pub at: (usize, usize),
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
}

/// The reasoning for every topic of an item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub anchors: Vec<KeywordHit>,
    pub global_vetoes: Vec<KeywordHit>,
    pub topics: Vec<TopicExplanation>,
}

impl Explanation {
    /// The topics that matched, as notices carry them.
    pub fn matches(&self, classifier: &Classifier) -> Vec<TopicMatch> {
        self.topics
            .iter()
            .zip(&classifier.topics)
            .filter(|(e, _)| e.decision == Decision::Match)
            .map(|(e, t)| {
                let mut keywords: Vec<String> = Vec::new();
                for hit in &e.counted {
                    if !keywords.contains(&hit.keyword) {
                        keywords.push(hit.keyword.clone());
                    }
                }
                TopicMatch {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    hashtag: t.hashtag.clone(),
                    keywords,
                }
            })
            .collect()
    }
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
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&builder.folded)
            .map_err(|e| BuildError(e.to_string()))?;
        Ok(Classifier {
            automaton,
            patterns: builder.patterns,
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
                folded: (m.start(), m.end()),
            });
        }
        hits
    }

    /// Explains the decision for every topic.
    pub fn explain(&self, title: &str, summary: &str) -> Explanation {
        let mut hits = self.hits(&normalize(title), Field::Title);
        hits.extend(self.hits(&normalize(summary), Field::Summary));

        let mut anchors = Vec::new();
        let mut global_vetoes = Vec::new();
        // Per topic: (counted keyword hits, generic hits, excludes, strong?, require groups met)
        let mut per_topic: Vec<TopicHits> = (0..self.topics.len())
            .map(|_| TopicHits::default())
            .collect();
        for hit in &hits {
            for owner in &self.patterns[hit.pattern].owners {
                let kh = KeywordHit {
                    keyword: owner.keyword.clone(),
                    field: hit.field,
                    text: hit.original.clone(),
                    at: hit.folded,
                };
                match (owner.role, owner.topic) {
                    (Role::Anchor, _) => push_unique(&mut anchors, kh),
                    (Role::GlobalExclude, _) => push_unique(&mut global_vetoes, kh),
                    (role, Some(t)) => {
                        let th = &mut per_topic[t];
                        match role {
                            Role::Keyword => push_unique(&mut th.keywords, kh),
                            Role::Strong => {
                                th.strong_fields.push(kh.field);
                                push_unique(&mut th.keywords, kh);
                            }
                            Role::Generic => push_unique(&mut th.generic, kh),
                            Role::Exclude => push_unique(&mut th.excludes, kh),
                            Role::Require(g) => {
                                th.groups_met.push(g);
                            }
                            Role::Anchor | Role::GlobalExclude => {}
                        }
                    }
                    (_, None) => {}
                }
            }
        }

        let topics = self
            .topics
            .iter()
            .zip(per_topic)
            .map(|(topic, th)| self.decide(topic, th, !anchors.is_empty(), &global_vetoes))
            .collect();
        Explanation {
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
        global_vetoes: &[KeywordHit],
    ) -> TopicExplanation {
        let generic_counts = !th.keywords.is_empty() || anchored;
        let mut counted = th.keywords;
        let mut ignored_generic = Vec::new();
        if generic_counts {
            counted.extend(th.generic);
        } else {
            ignored_generic = th.generic;
        }
        let score = score(&counted, topic);
        let missing_group = (0..topic.require_groups).find(|g| !th.groups_met.contains(g));
        let vetoes: Vec<KeywordHit> = th.excludes.iter().chain(global_vetoes).cloned().collect();
        let decision = if counted.is_empty() {
            Decision::NoMatch
        } else if score < topic.threshold {
            Decision::BelowThreshold
        } else if let Some(group) = missing_group {
            Decision::MissingRequired { group: group + 1 }
        } else if !vetoes.is_empty() && !overrides(&th.strong_fields, &vetoes) {
            Decision::Vetoed { by: vetoes }
        } else {
            Decision::Match
        };
        TopicExplanation {
            id: topic.id.clone(),
            name: topic.name.clone(),
            decision,
            score,
            threshold: topic.threshold,
            counted,
            ignored_generic,
            strong: !th.strong_fields.is_empty(),
        }
    }

    /// The topics an item belongs to, in config order.
    pub fn classify(&self, title: &str, summary: &str) -> Vec<TopicMatch> {
        self.explain(title, summary).matches(self)
    }
}

#[derive(Default)]
struct TopicHits {
    keywords: Vec<KeywordHit>,
    generic: Vec<KeywordHit>,
    excludes: Vec<KeywordHit>,
    /// Fields in which a strong keyword matched.
    strong_fields: Vec<Field>,
    groups_met: Vec<usize>,
}

/// A topic's score: each occurrence adds the weight of its field, where hits that overlap or
/// touch in the folded text are one occurrence ("그래픽 처리 장치(GPU)", "AI 데이터센터" inside
/// "AI 데이터센터" are each one piece of evidence), and a keyword repeated later adds nothing.
fn score(counted: &[KeywordHit], topic: &Topic) -> f32 {
    let weight = |field| match field {
        Field::Title => topic.title_weight,
        Field::Summary => topic.summary_weight,
    };
    let mut hits: Vec<&KeywordHit> = counted.iter().collect();
    hits.sort_by_key(|h| (h.field == Field::Summary, h.at.0, h.at.1));
    let mut score = 0.0;
    let mut seen_keywords: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < hits.len() {
        // Grow one occurrence cluster.
        let field = hits[i].field;
        let mut end = hits[i].at.1;
        let mut j = i;
        let mut fresh = false;
        while j < hits.len() && hits[j].field == field && hits[j].at.0 <= end {
            end = end.max(hits[j].at.1);
            if !seen_keywords.contains(&hits[j].keyword.as_str()) {
                seen_keywords.push(&hits[j].keyword);
                fresh = true;
            }
            j += 1;
        }
        if fresh {
            score += weight(field);
        }
        i = j;
    }
    score
}

/// Whether a strong keyword overrides the vetoes: it must be at least as prominent as they are
/// (a veto in the title is only overridden by a strong keyword in the title).
fn overrides(strong_fields: &[Field], vetoes: &[KeywordHit]) -> bool {
    if strong_fields.contains(&Field::Title) {
        return true;
    }
    !strong_fields.is_empty() && vetoes.iter().all(|v| v.field == Field::Summary)
}

fn push_unique(list: &mut Vec<KeywordHit>, hit: KeywordHit) {
    if !list
        .iter()
        .any(|h| h.keyword == hit.keyword && h.field == hit.field)
    {
        list.push(hit);
    }
}

/// Collects distinct folded patterns and the keywords behind each.
#[derive(Default)]
struct PatternSet {
    index: HashMap<(String, bool), usize>,
    folded: Vec<String>,
    patterns: Vec<Pattern>,
}

impl PatternSet {
    fn add(&mut self, keyword: &str, role: Role, topic: Option<usize>) {
        let prefix = keyword.ends_with('*');
        let folded = fold_keyword(keyword);
        if folded.is_empty() {
            return; // config validation rejects these; nothing to search for
        }
        let slot = match self.index.get(&(folded.clone(), prefix)) {
            Some(&slot) => slot,
            None => {
                let nfkc = normalize(keyword.trim_end_matches('*')).nfkc;
                let first = nfkc.chars().find(|c| !is_ignorable(*c));
                let last = nfkc.chars().rev().find(|c| !is_ignorable(*c));
                self.folded.push(folded.clone());
                self.patterns.push(Pattern {
                    owners: Vec::new(),
                    check_left: first.is_some_and(is_word_char),
                    check_right: !prefix && last.is_some_and(is_word_char),
                });
                self.index.insert((folded, prefix), self.patterns.len() - 1);
                self.patterns.len() - 1
            }
        };
        self.patterns[slot].owners.push(Owner {
            role,
            topic,
            keyword: keyword.to_owned(),
        });
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
}
