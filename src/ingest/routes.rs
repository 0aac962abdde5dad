//! Where a notice goes: the configured destinations by topic, and every subscriber whose topics
//! or watch words it matches (each chat once).

use crate::classify::{ItemText, Keywords};
use crate::config::Config;
use crate::records::{Delivery, Destination, Notice, Payload};
use crate::store::Subscriber;

/// A destination and the topics it wants (all when `None`).
#[derive(Debug, Clone)]
pub struct Route {
    pub destination: Destination,
    pub topics: Option<Vec<String>>,
}

impl Route {
    pub(super) fn wants(&self, notice: &Notice) -> bool {
        match &self.topics {
            None => true,
            Some(wanted) => notice
                .topics
                .iter()
                .any(|t| wanted.iter().any(|w| **w == *t.id)),
        }
    }
}

/// Where new notices go under `config`: the Telegram destinations (with their topic filters) when
/// Telegram is on, else stdout.
pub fn routes(config: &Config, telegram: bool) -> Vec<Route> {
    if !telegram {
        return vec![Route {
            destination: Destination::Stdout,
            topics: None,
        }];
    }
    config
        .telegram
        .destinations
        .iter()
        .map(|d| Route {
            destination: Destination::Telegram {
                chat: d.get_ref().chat.clone(),
            },
            topics: d
                .get_ref()
                .topics
                .as_ref()
                .map(|t| t.iter().map(|s| s.get_ref().clone()).collect()),
        })
        .collect()
}

/// Every active subscriber's watch words in one matcher, rebuilt only when the set of words
/// changes (a subscriber's `/watch`), not on every poll.
#[derive(Default)]
pub(super) struct WatchIndex {
    /// The matcher's words, sorted and distinct.
    words: Vec<String>,
    keywords: Option<Keywords>,
}

impl WatchIndex {
    pub(super) fn update(&mut self, subscribers: &[Subscriber]) {
        let words: std::collections::BTreeSet<&str> = subscribers
            .iter()
            .filter(|s| s.active)
            .flat_map(|s| s.watch.iter().map(String::as_str))
            .collect();
        if words
            .iter()
            .copied()
            .eq(self.words.iter().map(String::as_str))
        {
            return;
        }
        self.words = words.into_iter().map(str::to_owned).collect();
        self.keywords = if self.words.is_empty() {
            None
        } else {
            match Keywords::new(self.words.iter().map(String::as_str)) {
                Ok(keywords) => Some(keywords),
                Err(e) => {
                    tracing::error!("cannot match subscribers' watch words: {e}");
                    None
                }
            }
        };
    }

    /// The watch words `text` contains.
    pub(super) fn found(&self, text: &ItemText) -> Vec<&str> {
        match &self.keywords {
            None => Vec::new(),
            Some(k) => k
                .find(text)
                .into_iter()
                .map(|i| self.words[i].as_str())
                .collect(),
        }
    }
}

/// Adds a notice's deliveries to the subscribers who want it — for one of their topics, or for
/// one of their watch words `found` in the item — each with its own copy (which names the watch
/// words that brought it): a message in the outbox, or a place in the digest queue for those on
/// a daily digest. A chat gets the notice once, whatever brought it, also when it is a
/// configured destination.
pub(super) fn fan_out(
    notice: &Notice,
    subscribers: &[Subscriber],
    found: &[&str],
    deliveries: &mut Vec<Delivery>,
    digests: &mut Vec<(i64, Notice)>,
) {
    for subscriber in subscribers {
        if !subscriber.active {
            continue;
        }
        let watched: Vec<String> = subscriber
            .watch
            .iter()
            .filter(|w| found.contains(&w.as_str()))
            .cloned()
            .collect();
        if watched.is_empty() && !subscriber.wants(notice.topics.iter().map(|t| &*t.id)) {
            continue;
        }
        let destination = subscriber.destination();
        if deliveries.iter().any(|d| d.destination == destination) {
            continue;
        }
        let mut copy = notice.clone();
        copy.watched = watched;
        if subscriber.digest_at.is_some() {
            digests.push((subscriber.chat, copy));
        } else {
            deliveries.push(Delivery {
                destination,
                payload: Payload::Notice(copy),
                attempts: 0,
                plain: false,
            });
        }
    }
}
