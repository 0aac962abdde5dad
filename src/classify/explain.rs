//! Explanations: for every topic, what matched where, what counted and what did not, and why —
//! what `policy-watch explain` and `eval` print.

use serde::Serialize;

use super::decide::{Evidence, Occurrence, TopicEval, Verdict};
use super::rules::Topic;
use super::scan::Scratch;
use super::{Classifier, Field};

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

/// A piece of evidence before strings are made (see [`Piece`]).
pub(super) struct RawPiece<'a> {
    pub(super) field: Field,
    pub(super) keywords: Vec<&'a str>,
    pub(super) weight: f32,
    pub(super) strong_in_lead: bool,
}

impl Classifier {
    /// The pieces of evidence behind a score, each with the weight it added. A piece in the
    /// summary weighs `summary_weight`, unless it holds a strong keyword of the topic within
    /// the lead: then it weighs as in the title.
    pub(super) fn pieces<'a>(
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
