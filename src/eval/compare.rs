//! What a changed config gains and loses, item by item.

use serde::Serialize;

use crate::classify::Classifier;

use super::*;

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
