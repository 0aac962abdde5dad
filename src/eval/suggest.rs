//! Words a topic's misses share, for a person to judge; and the phrases of a title (also
//! `vocab`'s).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::classify::Classifier;
use crate::fold::fold_keyword;

use super::*;

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
