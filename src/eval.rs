//! Measuring a topic config against labelled items: what `policy-watch eval` prints and what
//! the quality test enforces.
//!
//! An operator who edits keywords needs to know what the edit does before it reaches
//! subscribers: item precision and recall (is it on topic at all), per-topic scores, every
//! error with the reason the classifier gives (`explain` in one line), what a changed config
//! gains and loses, and, for a person to judge, words that the misses of a topic share.
//! Everything here is a pure function of a [`Classifier`] and the labelled items.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::classify::{Classifier, Decision, Field, KeywordHit, TopicExplanation};
use crate::fold::fold_keyword;

/// One labelled item, as in the dev files (`tests/data/*.jsonl`): one JSON object a line.
#[derive(Debug, Clone, Deserialize)]
pub struct Labelled {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    /// Topic ids; empty when the item is not about the initiative.
    pub labels: Vec<String>,
    /// `high`, `medium` or `ambiguous`: how clear-cut the label was.
    #[serde(default)]
    pub confidence: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: {message}; each line must be a JSON object with \"id\", \"title\", \"labels\" and optional \"summary\" and \"confidence\""
    )]
    Line {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: no labelled items in the file")]
    Empty { path: PathBuf },
}

/// Reads a JSONL file of labelled items (blank lines are skipped).
pub fn load(path: &Path) -> Result<Vec<Labelled>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses labelled items; `path` names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Labelled>, LoadError> {
    // A byte-order mark (editors on Windows write one) is no part of the first line's JSON.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut items = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: Labelled = serde_json::from_str(line).map_err(|e| LoadError::Line {
            path: path.to_owned(),
            line: n + 1,
            column: e.column(),
            message: e.to_string(),
        })?;
        items.push(item);
    }
    if items.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(items)
}

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
    items
        .iter()
        .map(|i| {
            classifier
                .classify(&i.title, i.summary.as_deref().unwrap_or(""))
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

/// What changing the config does, topic by topic: each count is of (item, topic) decisions that
/// the other config makes differently.
#[derive(Debug, Default, Clone, Serialize)]
pub struct TopicChange {
    pub topic: String,
    /// Labelled and now matched.
    pub gained_tp: usize,
    /// Not labelled and now matched.
    pub gained_fp: usize,
    /// Labelled and no longer matched.
    pub lost_tp: usize,
    /// Not labelled and no longer matched (a false positive removed).
    pub lost_fp: usize,
}

/// One item whose topics differ between the two configs.
#[derive(Debug, Clone, Serialize)]
pub struct ItemChange {
    pub id: String,
    pub title: String,
    pub labels: Vec<String>,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub topics: Vec<TopicChange>,
    pub items: Vec<ItemChange>,
}

/// Compares the predictions of `before` and `after` (each with its topic ids) on `items`.
/// Topics of either config are listed, `before`'s order first.
pub fn compare(
    before: (&Classifier, &[String]),
    after: (&Classifier, &[String]),
    items: &[Labelled],
) -> Comparison {
    let old = predict(before.0, items);
    let new = predict(after.0, items);
    let mut order: Vec<String> = before.1.to_vec();
    for t in after.1 {
        if !order.contains(t) {
            order.push(t.clone());
        }
    }
    let mut changes: Vec<TopicChange> = order
        .iter()
        .map(|t| TopicChange {
            topic: t.clone(),
            ..TopicChange::default()
        })
        .collect();
    let mut changed_items = Vec::new();
    for ((i, old), new) in items.iter().zip(&old).zip(&new) {
        if old == new {
            continue;
        }
        for change in &mut changes {
            let t = &change.topic;
            let labelled = i.labels.contains(t);
            match (old.contains(t), new.contains(t), labelled) {
                (false, true, true) => change.gained_tp += 1,
                (false, true, false) => change.gained_fp += 1,
                (true, false, true) => change.lost_tp += 1,
                (true, false, false) => change.lost_fp += 1,
                _ => {}
            }
        }
        changed_items.push(ItemChange {
            id: i.id.clone(),
            title: i.title.clone(),
            labels: i.labels.clone(),
            before: old.clone(),
            after: new.clone(),
        });
    }
    changes.retain(|c| c.gained_tp + c.gained_fp + c.lost_tp + c.lost_fp > 0);
    Comparison {
        topics: changes,
        items: changed_items,
    }
}

/// A word or two-word phrase that a topic's misses share, for a person to judge.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub topic: String,
    pub phrase: String,
    /// Misses (false negatives) of the topic whose title or summary holds the phrase.
    pub in_misses: usize,
    /// Items labelled with the topic that hold it (misses included).
    pub in_positives: usize,
    /// Items not labelled with the topic that hold it: what the phrase would drag in.
    pub in_others: usize,
}

/// Particles and endings stripped from a Hangul word's end before it is counted, longest first,
/// so that "반도체를" and "반도체의" count as one word.
const PARTICLES: &[&str] = &[
    "으로서",
    "에서는",
    "으로",
    "에서",
    "에게",
    "까지",
    "부터",
    "과의",
    "와의",
    "에는",
    "하는",
    "하고",
    "한다",
    "했다",
    "을",
    "를",
    "이",
    "가",
    "은",
    "는",
    "의",
    "에",
    "와",
    "과",
    "로",
    "도",
    "만",
];

/// The words of a text (split on anything that is not a letter or digit, Hangul particles
/// stripped) and its two-word phrases (also what `vocab` mines).
pub(crate) fn phrases(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut w = w.to_owned();
            if w.chars().count() > 2 && w.chars().all(is_hangul) {
                for p in PARTICLES {
                    if let Some(stem) = w.strip_suffix(p)
                        && stem.chars().count() >= 2
                    {
                        w = stem.to_owned();
                        break;
                    }
                }
            }
            w
        })
        .collect();
    let mut out = HashSet::new();
    for (n, w) in words.iter().enumerate() {
        if useful(w) {
            out.insert(w.clone());
        }
        if let Some(next) = words.get(n + 1)
            && (useful(w) || useful(next))
        {
            out.insert(format!("{w} {next}"));
        }
    }
    out
}

fn is_hangul(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

/// A word worth suggesting alone: two Hangul syllables or three Latin letters, not a number.
fn useful(w: &str) -> bool {
    let hangul = w.chars().filter(|&c| is_hangul(c)).count();
    let latin = w.chars().filter(|c| c.is_ascii_alphabetic()).count();
    hangul >= 2 || latin >= 3
}

/// Candidate keywords per topic, mined from its false negatives: phrases in at least
/// `min_misses` misses, more frequent among the topic's positives than among the other items
/// and in at most 5 % of those, not already covered by a keyword the classifier knows
/// (`explain` finds no evidence for the topic in the phrase alone). Best first; at most `per_topic` per topic. Never applied: a
/// person decides.
pub fn suggest(
    classifier: &Classifier,
    topic_ids: &[String],
    items: &[Labelled],
    min_misses: usize,
    per_topic: usize,
) -> Vec<Suggestion> {
    let predicted = predict(classifier, items);
    let texts: Vec<HashSet<String>> = items
        .iter()
        .map(|i| {
            let mut p = phrases(&i.title);
            if let Some(s) = &i.summary {
                p.extend(phrases(s));
            }
            p
        })
        .collect();
    let mut out = Vec::new();
    for topic in topic_ids {
        let labelled: Vec<bool> = items.iter().map(|i| i.labels.contains(topic)).collect();
        let positives = labelled.iter().filter(|&&l| l).count();
        let misses: Vec<usize> = (0..items.len())
            .filter(|&n| labelled[n] && !predicted[n].contains(topic))
            .collect();
        if misses.is_empty() {
            continue;
        }
        let mut in_misses: HashMap<&str, usize> = HashMap::new();
        for &n in &misses {
            for p in &texts[n] {
                *in_misses.entry(p.as_str()).or_default() += 1;
            }
        }
        let others = items.len() - positives;
        let mut candidates: Vec<Suggestion> = in_misses
            .into_iter()
            .filter(|(_, m)| *m >= min_misses)
            .filter(|(phrase, _)| !known(classifier, topic, phrase))
            .map(|(phrase, m)| {
                let (mut in_positives, mut in_others) = (0, 0);
                for (text, &l) in texts.iter().zip(&labelled) {
                    if text.contains(phrase) {
                        *(if l { &mut in_positives } else { &mut in_others }) += 1;
                    }
                }
                Suggestion {
                    topic: topic.clone(),
                    phrase: phrase.to_owned(),
                    in_misses: m,
                    in_positives,
                    in_others,
                }
            })
            // More frequent among the topic's items than among the others, and rare among the
            // others (at most 5 % of them, or 2): a word that drags in many items is no keyword.
            .filter(|s| {
                s.in_positives as f64 / positives as f64
                    > 2.0 * s.in_others as f64 / others.max(1) as f64
                    && s.in_others as f64 <= (others as f64 * 0.05).max(2.0)
            })
            .collect();
        candidates.sort_by(|a, b| {
            let score = |s: &Suggestion| (s.in_misses as f64) / (1.0 + s.in_others as f64);
            score(b)
                .total_cmp(&score(a))
                .then(b.phrase.chars().count().cmp(&a.phrase.chars().count()))
                .then(a.phrase.cmp(&b.phrase))
        });
        // A two-word phrase that only repeats a word already suggested adds little.
        let mut kept: Vec<(Suggestion, String)> = Vec::new();
        for c in candidates {
            let folded = fold_keyword(&c.phrase);
            if kept.iter().any(|(k, f)| {
                (folded.contains(f.as_str()) || f.contains(&folded)) && k.in_misses >= c.in_misses
            }) {
                continue;
            }
            kept.push((c, folded));
            if kept.len() == per_topic {
                break;
            }
        }
        out.extend(kept.into_iter().map(|(s, _)| s));
    }
    out
}

/// Whether the topic already has evidence in `phrase` alone.
fn known(classifier: &Classifier, topic: &str, phrase: &str) -> bool {
    classifier
        .explain(phrase, "")
        .topics
        .iter()
        .find(|t| t.id == topic)
        .is_some_and(|t| !t.counted.is_empty() || !t.ignored_generic.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_starts_with_a_byte_order_mark_is_read() {
        let text = "\u{FEFF}{\"id\":\"a\",\"title\":\"AI반도체\",\"labels\":[\"chips\"]}\n\n{\"id\":\"b\",\"title\":\"인사\",\"labels\":[]}\n";
        let items = parse(Path::new("x.jsonl"), text).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].id, "a");
    }
}
