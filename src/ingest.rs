//! The ingest stage: poll results in, dedup + classification, one store transaction per poll.
//!
//! This is the only writer of per-source state and of new outbox entries, so the rule "an item is
//! marked seen in the same transaction that enqueues its deliveries" lives in one place.

use std::sync::Arc;

use chrono::Utc;
use sha2::Digest;
use tokio::sync::{Notify, mpsc, watch};

use crate::classify::Classifier;
use crate::config::{Config, SourceConfig};
use crate::daemon::Health;
use crate::deliver::{Delivery, Destination, Notice, Payload, Printer, render};
use crate::items::Item;
use crate::sources::{PollEvent, PollOutcome, SourceError};
use crate::store::{PollEntry, SourceState, Store, StoreError};

/// What one ingested poll did (for logs, `once`'s exit code and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub failed: bool,
    pub not_modified: bool,
    pub baseline: bool,
    /// Items not seen before.
    pub new_items: usize,
    /// Deliveries enqueued.
    pub queued: usize,
}

/// Totals over a run (what `policy-watch once` reports).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestTotals {
    pub polls: usize,
    pub failed_sources: Vec<String>,
    pub store_errors: usize,
    pub new_items: usize,
    pub queued: usize,
}

/// A destination and the topics it wants (all when `None`).
#[derive(Debug, Clone)]
pub struct Route {
    pub destination: Destination,
    pub topics: Option<Vec<String>>,
}

impl Route {
    fn wants(&self, notice: &Notice) -> bool {
        match &self.topics {
            None => true,
            Some(wanted) => notice.topics.iter().any(|t| wanted.contains(&t.id)),
        }
    }
}

pub struct Ingestor {
    pub store: Store,
    /// The current config; a reload rebuilds the classifier and the routes.
    pub config: watch::Receiver<Arc<Config>>,
    /// Whether notices go to Telegram (else to stdout).
    pub telegram: bool,
    /// Where to preview baselined matches (dry-run): they are shown but never sent.
    pub preview: Option<Printer>,
    pub wake: Arc<Notify>,
    pub health: Arc<Health>,
}

/// What the ingest stage derives from one config.
struct Rules {
    classifier: Classifier,
    routes: Vec<Route>,
}

impl Rules {
    fn new(config: &Config, telegram: bool) -> Option<Rules> {
        match Classifier::new(&config.classify, &config.topics) {
            Ok(classifier) => Some(Rules {
                classifier,
                routes: crate::routes(config, telegram),
            }),
            Err(e) => {
                tracing::error!("cannot build the classifier: {e}; keeping the previous rules");
                None
            }
        }
    }
}

impl Ingestor {
    /// Consumes poll events until every poller has gone, committing each before acknowledging it.
    pub async fn run(mut self, mut events: mpsc::Receiver<PollEvent>) -> IngestTotals {
        let mut totals = IngestTotals::default();
        let initial = self.config.borrow_and_update().clone();
        let mut rules =
            Rules::new(&initial, self.telegram).expect("run() validated the classifier");
        while let Some(event) = events.recv().await {
            if self.config.has_changed().unwrap_or(false) {
                let new = self.config.borrow_and_update().clone();
                if let Some(new_rules) = Rules::new(&new, self.telegram) {
                    rules = new_rules;
                }
            }
            totals.polls += 1;
            match self.ingest(&rules, &event.source, event.attempted_at, event.result) {
                Ok(report) => {
                    self.health.polled();
                    if report.failed {
                        totals.failed_sources.push(event.source.id().to_owned());
                    }
                    totals.new_items += report.new_items;
                    totals.queued += report.queued;
                }
                Err(e) => {
                    // Nothing was committed: the items stay unseen and the next poll retries them.
                    totals.store_errors += 1;
                    tracing::error!(source = %event.source.id(), "cannot record the poll in the store: {e}; the items will be retried on the next poll");
                }
            }
            let _ = event.committed.send(());
        }
        totals
    }

    /// Records one poll result.
    fn ingest(
        &self,
        rules: &Rules,
        source: &SourceConfig,
        attempted_at: chrono::DateTime<Utc>,
        result: Result<PollOutcome, SourceError>,
    ) -> Result<IngestReport, StoreError> {
        let id = source.id();
        let mut state = self.store.source_state(id)?;
        state.last_attempt = Some(attempted_at);
        match result {
            Err(e) => {
                state.consecutive_failures += 1;
                state.last_error = Some(e.to_string());
                self.store.save_source_state(id, &state)?;
                let n = state.consecutive_failures;
                // Rate-limited: the 1st, 2nd, 4th, 8th… consecutive failure is a warning.
                if n.is_power_of_two() {
                    tracing::warn!(source = %id, failures = n, "{} ({}): {e}; backing off", source.name, source.url);
                } else {
                    tracing::debug!(source = %id, failures = n, "{e}");
                }
                Ok(IngestReport {
                    failed: true,
                    ..IngestReport::default()
                })
            }
            Ok(PollOutcome::NotModified { .. }) => {
                self.recovered(source, &mut state);
                self.store.save_source_state(id, &state)?;
                tracing::debug!(source = %id, "not modified");
                Ok(IngestReport {
                    not_modified: true,
                    ..IngestReport::default()
                })
            }
            Ok(PollOutcome::Items {
                items, validators, ..
            }) => {
                self.recovered(source, &mut state);
                state.etag = validators.etag;
                state.last_modified = validators.last_modified;
                self.commit_items(rules, source, state, items)
            }
        }
    }

    fn recovered(&self, source: &SourceConfig, state: &mut SourceState) {
        if state.consecutive_failures > 0 {
            tracing::info!(source = %source.id(), "{} recovered after {} failed polls", source.name, state.consecutive_failures);
        }
        state.consecutive_failures = 0;
        state.last_error = None;
        state.last_success = Some(Utc::now());
    }

    fn commit_items(
        &self,
        rules: &Rules,
        source: &SourceConfig,
        mut state: SourceState,
        items: Vec<Item>,
    ) -> Result<IngestReport, StoreError> {
        let id = source.id();
        let total = items.len();
        let mut fresh = Vec::new();
        for item in delivery_order(items) {
            if !self.store.is_seen(id, &item.key)?
                && !fresh.iter().any(|i: &Item| i.key == item.key)
            {
                fresh.push(item);
            }
        }
        let baseline = !state.baselined;
        // On the baseline, only the newest `backfill` items are treated as new.
        let send_from = if baseline {
            fresh.len().saturating_sub(source.backfill)
        } else {
            0
        };
        let now = Utc::now();
        let mut previews = Vec::new();
        let mut entries = Vec::with_capacity(fresh.len());
        for (i, item) in fresh.into_iter().enumerate() {
            let topics = rules.classifier.classify(&item.title, &item.summary);
            let key = item.key.clone();
            let title = item.title.clone();
            let mut deliveries = Vec::new();
            if !topics.is_empty() {
                let notice = Notice {
                    source_id: id.to_owned(),
                    source_name: source.name.clone(),
                    ministry: source.ministry.clone(),
                    item,
                    topics,
                    seen_at: now,
                };
                if i >= send_from {
                    deliveries = rules
                        .routes
                        .iter()
                        .filter(|r| r.wants(&notice))
                        .map(|r| Delivery {
                            destination: r.destination.clone(),
                            payload: Payload::Notice(notice.clone()),
                            attempts: 0,
                            plain: false,
                        })
                        .collect();
                } else {
                    previews.push(notice);
                }
            }
            let title_key = title_key(&title);
            entries.push(PollEntry {
                key,
                title_key,
                deliveries,
            });
        }
        state.baselined = true;
        state.items_seen += entries.len() as u64;
        let commit = self.store.commit_poll(id, &entries, &state)?;
        let (new_items, queued) = (commit.new, commit.queued);
        if commit.cross_source_duplicates > 0 {
            tracing::info!(source = %id, "{} new items were already brought by another source; not sent again", commit.cross_source_duplicates);
        }
        if queued > 0 {
            self.wake.notify_one();
        }
        if baseline {
            tracing::info!(
                source = %id,
                "{}: first poll, {new_items} items recorded as seen; {} match topics; {queued} queued (backfill = {})",
                source.name,
                previews.len() + queued,
                source.backfill
            );
            if let Some(printer) = &self.preview {
                for notice in &previews {
                    let text = format!("[baseline, not sent] {}", render::plain(notice));
                    if let Err(e) = printer.print(&text) {
                        tracing::warn!("cannot print the baseline preview: {e}");
                    }
                }
            }
        } else if new_items > 0 {
            tracing::info!(source = %id, "{}: {new_items} new of {total} items, {queued} deliveries queued", source.name);
        } else {
            tracing::debug!(source = %id, "{total} items, none new");
        }
        Ok(IngestReport {
            baseline,
            new_items,
            queued,
            ..IngestReport::default()
        })
    }
}

/// Identity of an item across sources: a hash of its folded title without leading bracketed
/// tags (`[보도참고]`, `(설명자료)`), so the same release seen on korea.kr and on the ministry's own
/// feed is sent once.
pub fn title_key(title: &str) -> Option<[u8; 16]> {
    let mut rest = title.trim();
    while let Some(close) = match rest.chars().next() {
        Some('[') => rest.find(']'),
        Some('(') => rest.find(')'),
        Some('【') => rest.find('】'),
        _ => None,
    } {
        rest = rest[close..]
            .trim_start_matches([']', ')', '】'])
            .trim_start();
    }
    let folded = crate::classify::normalize(rest).folded;
    if folded.chars().count() < 8 {
        return None; // too short to identify a release ("공지", "보도자료")
    }
    let digest = sha2::Sha256::digest(folded.as_bytes());
    digest[..16].try_into().ok()
}

/// Oldest first. Feeds list newest first; when every item is dated, dates decide (stable for
/// equal days), otherwise the feed's order is reversed.
fn delivery_order(mut items: Vec<Item>) -> Vec<Item> {
    items.reverse();
    if items.iter().all(|i| i.published.is_some()) {
        items.sort_by_key(|i| i.published);
    }
    items
}
