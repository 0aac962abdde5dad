//! `[classify]` and `[[topic]]`: the keywords and rules the classifier is built from.

use serde::Deserialize;
use toml::Spanned;

use super::de::*;

/// Global classification settings: defaults for every topic, anchors, global vetoes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// Words that make a topic's `generic` keywords count (e.g. AI, 인공지능, 반도체).
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub anchors: Vec<String>,
    /// Veto every topic when present (personnel notices, trade statistics, tariffs…),
    /// unless the topic also matched one of its `strong` keywords.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub exclude: Vec<String>,
    #[serde(default = "default_title_weight", deserialize_with = "de_weight")]
    pub(crate) title_weight: f32,
    #[serde(default = "default_summary_weight", deserialize_with = "de_weight")]
    pub summary_weight: f32,
    #[serde(default = "default_threshold", deserialize_with = "de_threshold")]
    pub threshold: f32,
    /// The summary's first characters that are its lead: a topic's `strong` keyword there
    /// weighs as in the title (a lead that names "AI반도체" is about it; a body that does is
    /// not yet).
    #[serde(default = "default_lead_chars")]
    pub(crate) lead_chars: usize,
    /// How much of the summary classification reads at all. Some sources send the whole
    /// release as its summary (MSIT's `content:encoded`, korea.kr's list): what is said after
    /// the first paragraphs is background, and passing mentions there are not evidence.
    #[serde(default = "default_summary_chars")]
    pub summary_chars: usize,
    /// Classes of words that mean the same (`["AI", "인공지능", "에이아이"]`, `["펀드", "기금"]`): a
    /// keyword written with one member also matches with every other member in its place, so
    /// `AI 디바이스` finds `인공지능 기기`, and a Korean word written with its loanword in
    /// brackets (`기금(펀드)`) counts either way.
    #[serde(default, deserialize_with = "de_synonyms")]
    pub(crate) synonyms: Vec<Vec<String>>,
    /// Phrases in which an anchor is no anchor: `AI 전환` (AX) and `AI 활용` speak of AI used in
    /// some other field, not of the AI the initiative builds, so a generic word beside them
    /// does not count.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub(crate) not_anchors: Vec<String>,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        ClassifyConfig {
            anchors: Vec::new(),
            exclude: Vec::new(),
            title_weight: default_title_weight(),
            summary_weight: default_summary_weight(),
            threshold: default_threshold(),
            lead_chars: default_lead_chars(),
            summary_chars: default_summary_chars(),
            synonyms: Vec::new(),
            not_anchors: Vec::new(),
        }
    }
}

pub(super) fn default_lead_chars() -> usize {
    300
}
pub(super) fn default_summary_chars() -> usize {
    600
}

pub(super) fn default_title_weight() -> f32 {
    2.0
}
pub(super) fn default_summary_weight() -> f32 {
    1.0
}
pub(super) fn default_threshold() -> f32 {
    2.0
}

/// A topic of the initiative and the rules that decide it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    #[serde(deserialize_with = "de_source_id")]
    pub id: Spanned<String>,
    /// Display name (Korean).
    pub name: String,
    /// Hashtag shown in notices, e.g. `#AI반도체`.
    #[serde(deserialize_with = "de_hashtag")]
    pub hashtag: String,
    /// Each distinct keyword that matches adds the weight of the field it matched in.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub keywords: Vec<String>,
    /// Like keywords, and a match overrides every exclusion (topic and global).
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub strong: Vec<String>,
    /// Count only together with another keyword of this topic or an anchor.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub generic: Vec<String>,
    /// Each group needs at least one match for the topic to match.
    #[serde(default, deserialize_with = "de_keyword_groups")]
    pub require: Vec<Vec<String>>,
    /// Veto this topic, unless a `strong` keyword matched.
    #[serde(default, deserialize_with = "de_keyword_list")]
    pub exclude: Vec<String>,
    #[serde(default, deserialize_with = "de_opt_weight")]
    pub(crate) title_weight: Option<f32>,
    #[serde(default, deserialize_with = "de_opt_weight")]
    pub summary_weight: Option<f32>,
    #[serde(default, deserialize_with = "de_opt_threshold")]
    pub threshold: Option<f32>,
}

impl TopicConfig {
    pub fn id(&self) -> &str {
        self.id.get_ref()
    }
}
