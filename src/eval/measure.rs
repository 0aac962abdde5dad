//! Scores: item and topic precision and recall, and every error with its reason.

use serde::Serialize;

use crate::classify::{Classifier, Decision, Field, KeywordHit, TopicExplanation};

use super::*;

/// True positives, false positives and false negatives. In JSON also its precision, recall
/// and F1 (computed, never stored).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub(crate) fp: usize,
    pub(crate) fn_: usize,
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View {
            tp: usize,
            fp: usize,
            #[serde(rename = "fn")]
            fn_: usize,
            precision: f64,
            recall: f64,
            f1: f64,
        }
        View {
            tp: self.tp,
            fp: self.fp,
            fn_: self.fn_,
            precision: self.precision(),
            recall: self.recall(),
            f1: self.f1(),
        }
        .serialize(serializer)
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
}

impl Counts {
    fn add(&mut self, labelled: bool, predicted: bool) {
        match (labelled, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => {}
        }
    }
    /// 1.0 when nothing was predicted (no claim, no wrong claim).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// 1.0 when nothing was labelled.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn labelled(&self) -> usize {
        self.tp + self.fn_
    }
    /// One row of the report's table, under [`TABLE_HEADER`].
    pub fn row(&self, name: &str) -> String {
        format!(
            "{name:<22} {:>4} {:>4} {:>4} {:>6.2} {:>6.2} {:>6.2}",
            self.tp,
            self.fp,
            self.fn_,
            self.precision(),
            self.recall(),
            self.f1()
        )
    }
}

/// The header of the report's table.
pub const TABLE_HEADER: &str = "                         tp   fp   fn      P      R     F1";

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Scores of one topic.
#[derive(Debug, Clone, Serialize)]
pub struct TopicScore {
    pub id: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// What kind of error an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A topic matched that the item is not labelled with.
    FalsePositive,
    /// A topic the item is labelled with did not match.
    FalseNegative,
}

/// One wrong decision for one topic of one item, with the classifier's reason.
#[derive(Debug, Clone, Serialize)]
pub struct Error {
    pub kind: ErrorKind,
    pub id: String,
    pub topic: String,
    pub title: String,
    pub confidence: Option<String>,
    /// Whether the item as a whole is wrong too (sent though off topic, or not sent at all),
    /// not only filed under another topic.
    pub(crate) item_level: bool,
    /// One line from `explain`: the keywords behind a false positive, what was missing for a
    /// false negative.
    pub reason: String,
}

impl Error {
    /// The error in one line: `FP`/`FN` (`*` when the item as a whole is wrong), id,
    /// confidence, topic, title and reason.
    pub fn line(&self) -> String {
        let kind = match self.kind {
            ErrorKind::FalsePositive => "FP",
            ErrorKind::FalseNegative => "FN",
        };
        format!(
            "{kind}{} {} [{}] {} {:?}: {}",
            if self.item_level { "*" } else { " " },
            self.id,
            self.confidence.as_deref().unwrap_or("-"),
            self.topic,
            self.title,
            self.reason
        )
    }
}

/// Everything `eval` measures for one config over a set of items.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: usize,
    /// Relevant or not: labelled with any topic vs matched any topic.
    pub item: Counts,
    /// Config order.
    pub topics: Vec<TopicScore>,
    /// Topic-level counts summed over topics.
    pub micro: Counts,
    /// The same item measures on the `high`-confidence items only.
    pub high: Counts,
    /// Labels naming no configured topic (a label file for another config).
    pub unknown_labels: Vec<String>,
    pub errors: Vec<Error>,
}

impl Report {
    /// Adds the report of more items measured with the same topics: every count is a sum, so
    /// the report of several files is the sum of theirs (no item is classified twice).
    pub fn absorb(&mut self, other: Report) {
        self.items += other.items;
        self.item += other.item;
        self.high += other.high;
        self.micro += other.micro;
        for (mine, theirs) in self.topics.iter_mut().zip(other.topics) {
            debug_assert_eq!(mine.id, theirs.id, "reports of different topics");
            mine.counts += theirs.counts;
        }
        for label in other.unknown_labels {
            if !self.unknown_labels.contains(&label) {
                self.unknown_labels.push(label);
            }
        }
        self.errors.extend(other.errors);
    }
}

/// The topics `classifier` gives each item (ids, config order).
pub fn predict(classifier: &Classifier, items: &[Labelled]) -> Vec<Vec<String>> {
    predict_texts(
        classifier,
        items
            .iter()
            .map(|i| (i.title.as_str(), i.summary.as_deref().unwrap_or(""))),
    )
}

/// The topic ids `classifier` gives each (title, summary), labelled or not.
pub fn predict_texts<'a>(
    classifier: &Classifier,
    texts: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Vec<String>> {
    texts
        .into_iter()
        .map(|(title, summary)| {
            classifier
                .classify(title, summary)
                .into_iter()
                .map(|m| m.id.to_string())
                .collect()
        })
        .collect()
}

/// Measures `classifier` (whose topics are `topic_ids`) on `items`.
pub fn evaluate(classifier: &Classifier, topic_ids: &[String], items: &[Labelled]) -> Report {
    let predicted = predict(classifier, items);
    let mut item = Counts::default();
    let mut high = Counts::default();
    let mut per_topic: Vec<Counts> = vec![Counts::default(); topic_ids.len()];
    let mut unknown: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for (i, got) in items.iter().zip(&predicted) {
        let (relevant, matched) = (!i.labels.is_empty(), !got.is_empty());
        item.add(relevant, matched);
        if i.confidence.as_deref() == Some("high") {
            high.add(relevant, matched);
        }
        for label in &i.labels {
            if !topic_ids.contains(label) && !unknown.contains(label) {
                unknown.push(label.clone());
            }
        }
        let mut explanation = None;
        for (t, topic) in topic_ids.iter().enumerate() {
            let (labelled, predicted) = (i.labels.contains(topic), got.contains(topic));
            per_topic[t].add(labelled, predicted);
            if labelled == predicted {
                continue;
            }
            let explanation = explanation.get_or_insert_with(|| {
                classifier.explain(&i.title, i.summary.as_deref().unwrap_or(""))
            });
            let why = explanation
                .topics
                .iter()
                .find(|e| &e.id == topic)
                .map(reason)
                .unwrap_or_default();
            errors.push(Error {
                kind: if predicted {
                    ErrorKind::FalsePositive
                } else {
                    ErrorKind::FalseNegative
                },
                id: i.id.clone(),
                topic: topic.clone(),
                title: i.title.clone(),
                confidence: i.confidence.clone(),
                item_level: relevant != matched,
                reason: why,
            });
        }
    }
    let mut micro = Counts::default();
    for c in &per_topic {
        micro += *c;
    }
    Report {
        items: items.len(),
        item,
        topics: topic_ids
            .iter()
            .zip(per_topic)
            .map(|(id, counts)| TopicScore {
                id: id.clone(),
                counts,
            })
            .collect(),
        micro,
        high,
        unknown_labels: unknown,
        errors,
    }
}

fn hit(h: &KeywordHit) -> String {
    match h.field {
        Field::Title => format!("{} (title)", h.keyword),
        Field::Summary => format!("{} (summary)", h.keyword),
    }
}

fn hits(list: &[KeywordHit]) -> String {
    list.iter().map(hit).collect::<Vec<_>>().join(", ")
}

/// `explain`'s verdict for one topic in one line.
pub fn reason(e: &TopicExplanation) -> String {
    let evidence = if e.counted.is_empty() {
        String::new()
    } else {
        format!("; evidence {}", hits(&e.counted))
    };
    match &e.decision {
        Decision::Match => {
            let mut line = format!(
                "matched {} (score {}/{})",
                hits(&e.counted),
                e.score,
                e.threshold
            );
            if !e.overridden.is_empty() {
                line.push_str(&format!(", overriding {}", hits(&e.overridden)));
            }
            line
        }
        Decision::NoMatch if e.ignored_generic.is_empty() => "no keyword of the topic".to_owned(),
        Decision::NoMatch => format!(
            "only generic words without another keyword or an anchor where it counts (the title; the summary for words only there; not in AI 전환-like phrases): {}",
            hits(&e.ignored_generic)
        ),
        Decision::BelowThreshold => format!("score {} below {}{evidence}", e.score, e.threshold),
        Decision::MissingRequired { group } => {
            format!("no word of require group {group}{evidence}")
        }
        Decision::Vetoed { by } => format!("vetoed by {}{evidence}", hits(by)),
    }
}
