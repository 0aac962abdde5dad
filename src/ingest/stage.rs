//! The stage itself: poll events in, each group of polls read, classified, fanned out and
//! committed in one transaction, the pollers answered with their committed state.

use super::alerts::source_alert;
use super::identity::{delivery_order, title_key};
use super::routes::{Route, WatchIndex, fan_out, routes};

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, mpsc, watch};

use crate::classify::{Classifier, ItemText};
use crate::config::{Config, SourceConfig};
use crate::health::Health;
use crate::items::Item;
use crate::printer::Printer;
use crate::records::{Delivery, Notice, Payload};
use crate::render;
use crate::sources::{PollEvent, PollOutcome, SourceError};
use crate::store::{
    CommitReport, Listing, PollCommit, PollEntry, SourceState, Store, StoreError, Validators,
    unix_now,
};

/// Most polls committed in one transaction (those already waiting when one arrives; at most
/// [`crate::sources::scheduler::POLLS_IN_FLIGHT`] can be). Eight takes most of the saving
/// (sled's per-transaction cost) while a group's items stay a small part of memory.
const MAX_GROUP: usize = 8;

/// What one ingested poll did (for logs, `once`'s exit code and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub failed: bool,
    pub(crate) not_modified: bool,
    pub baseline: bool,
    /// Items not seen before.
    pub new_items: usize,
    /// Deliveries enqueued (notices and operator alerts).
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
    /// Title keys of the releases previewed in this run: a release that two sources list (the
    /// 산업통상부 board and its feed) is previewed once.
    pub previewed: std::sync::Mutex<std::collections::HashSet<[u8; 16]>>,
}

/// A poll result after [`Ingestor::ingest`].
enum Ingested {
    /// Recorded: what it did and the source's state as committed.
    Done(IngestReport, SourceState),
    /// Items to commit with the rest of the group.
    Pending(Box<PendingPoll>),
}

/// Whose poll it was and where its poller waits for the answer.
struct PollReply {
    source: Arc<SourceConfig>,
    committed: tokio::sync::oneshot::Sender<Option<SourceState>>,
}

/// A poll event once its group is recorded: what it did and the source's state as committed.
struct Outcome {
    reply: PollReply,
    result: Result<(IngestReport, SourceState), StoreError>,
}

/// A poll with items, classified and fanned out, waiting for its group's transaction.
struct PendingPoll {
    entries: Vec<PollEntry>,
    listing: Listing,
    previous: Listing,
    state: SourceState,
    baseline: bool,
    /// Items the poll read (new or not).
    total: usize,
    /// Baselined items that matched a topic (recorded, not sent).
    baseline_matches: usize,
    /// Those items with their title keys, to show in a dry run (empty without a preview
    /// printer).
    previews: Vec<(Option<[u8; 16]>, Notice)>,
    alert: Option<String>,
}

/// What the ingest stage derives from one config.
struct Rules {
    classifier: Classifier,
    routes: Vec<Route>,
    admins: Vec<i64>,
    /// `[bot] watch_words`: whether subscribers' own words are matched.
    watch_words: bool,
    watch: WatchIndex,
}

impl Rules {
    fn new(config: &Config, telegram: bool) -> Option<Rules> {
        match Classifier::new(&config.classify, &config.topics) {
            Ok(classifier) => Some(Rules::with(classifier, config, telegram)),
            Err(e) => {
                tracing::error!("cannot build the classifier: {e}; keeping the previous rules");
                None
            }
        }
    }

    /// The rules of `config`, whose classifier is built already.
    fn with(classifier: Classifier, config: &Config, telegram: bool) -> Rules {
        Rules {
            classifier,
            routes: routes(config, telegram),
            admins: config.telegram.admins.clone(),
            watch_words: config.bot.watch_words,
            watch: WatchIndex::default(),
        }
    }
}

impl Ingestor {
    /// Consumes poll events until every poller has gone, committing each before acknowledging it.
    /// `classifier` is the current config's, built by the caller (which reports a config it
    /// cannot build): built once, not once to check and again to use.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<PollEvent>,
        classifier: Classifier,
    ) -> IngestTotals {
        // Not marked seen: should a reload have come in since `classifier` was built, the loop
        // below rebuilds the rules from it before the first poll is ingested.
        let initial = self.config.borrow().clone();
        let mut rules = Rules::with(classifier, &initial, self.telegram);
        let mut totals = IngestTotals::default();
        loop {
            // Held notices (sources with `hold`) are released when due, between poll events.
            let next_due = match self.store.next_held_due() {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!("cannot read the held notices: {e}");
                    None
                }
            };
            let event = match next_due {
                Some(due) => {
                    let wait = Duration::from_secs(due.saturating_sub(unix_now()));
                    tokio::select! {
                        event = events.recv() => event,
                        _ = tokio::time::sleep(wait) => {
                            self.release_held().await;
                            continue;
                        }
                    }
                }
                None => events.recv().await,
            };
            let Some(event) = event else { break };
            // The polls already waiting join this one: one transaction for the group.
            let mut group = vec![event];
            while group.len() < MAX_GROUP {
                match events.try_recv() {
                    Ok(event) => group.push(event),
                    Err(_) => break,
                }
            }
            if self.config.has_changed().unwrap_or(false) {
                let new = self.config.borrow_and_update().clone();
                if let Some(new_rules) = Rules::new(&new, self.telegram) {
                    rules = new_rules;
                }
            }
            let outcomes = self.ingest_group(&mut rules, group);
            let mut queued = false;
            let mut replies = Vec::with_capacity(outcomes.len());
            for Outcome { reply, result } in outcomes {
                totals.polls += 1;
                let committed = match result {
                    Ok((report, state)) => {
                        self.health.polled();
                        if report.failed {
                            totals.failed_sources.push(reply.source.id().to_owned());
                        }
                        queued |= report.queued > 0;
                        totals.new_items += report.new_items;
                        totals.queued += report.queued;
                        Some(state)
                    }
                    Err(e) => {
                        // Nothing was committed: the items stay unseen and the next poll
                        // retries them.
                        totals.store_errors += 1;
                        tracing::error!(source = %reply.source.id(), "cannot record the poll in the store: {e}; the items will be retried on the next poll");
                        None
                    }
                };
                replies.push((reply.committed, committed));
            }
            // Durable before anyone is told: a poller sends its next request only then.
            if queued {
                self.queued().await;
            }
            for (reply, committed) in replies {
                let _ = reply.send(committed);
            }
        }
        self.release_held().await;
        totals
    }

    /// Something was queued: make it durable, then wake the deliverer. Durable before anything
    /// is sent: a notice sent from an outbox entry that a crash then loses would be enqueued and
    /// sent again after the restart. (Commits that queue nothing are not worth an fsync: losing
    /// one repeats a poll, no more; nor is printing to stdout.)
    async fn queued(&self) {
        if self.telegram
            && let Err(e) = self.store.flush().await
        {
            tracing::error!("cannot flush the store: {e}");
        }
        self.wake.notify_one();
    }

    /// Queues the held notices that are due (see [`Store::release_held`]).
    async fn release_held(&self) {
        match self.store.release_held(unix_now()) {
            Ok(report) => {
                if report.released + report.superseded > 0 {
                    tracing::info!(
                        "held notices: {} released ({} deliveries), {} dropped because another source's copy was sent",
                        report.released,
                        report.queued,
                        report.superseded
                    );
                }
                if report.queued > 0 {
                    self.queued().await;
                }
            }
            Err(e) => tracing::error!("cannot release held notices: {e}; retrying later"),
        }
    }

    /// Ingests a group of poll events: each is read, classified and fanned out, then every poll
    /// with items is committed in one transaction (or, should that fail, each alone, so that
    /// one poll the store cannot take does not hold back the others). An outcome per event, in
    /// order.
    fn ingest_group(&self, rules: &mut Rules, group: Vec<PollEvent>) -> Vec<Outcome> {
        let read: Vec<(PollReply, Result<Ingested, StoreError>)> = group
            .into_iter()
            .map(|event| {
                let ingested = self.ingest(rules, &event.source, event.attempted_at, event.result);
                let reply = PollReply {
                    source: event.source,
                    committed: event.committed,
                };
                (reply, ingested)
            })
            .collect();
        let polls: Vec<PollCommit<'_>> = read
            .iter()
            .filter_map(|(reply, ingested)| match ingested {
                Ok(Ingested::Pending(p)) => Some(PollCommit {
                    source_id: reply.source.id(),
                    entries: &p.entries,
                    listing: &p.listing,
                    previous: &p.previous,
                    state: &p.state,
                    hold: reply.source.hold,
                }),
                _ => None,
            })
            .collect();
        let commits: Vec<Result<CommitReport, StoreError>> = match polls.len() {
            0 => Vec::new(),
            1 => vec![self.store.commit_poll_one(&polls[0])],
            _ => match self.store.commit_polls(&polls) {
                Ok(reports) => reports.into_iter().map(Ok).collect(),
                Err(e) => {
                    tracing::warn!(
                        "cannot record {} polls together: {e}; recording each alone",
                        polls.len()
                    );
                    polls
                        .iter()
                        .map(|p| self.store.commit_poll_one(p))
                        .collect()
                }
            },
        };
        drop(polls);
        let mut commits = commits.into_iter();
        read.into_iter()
            .map(|(reply, ingested)| {
                let result = ingested.and_then(|ingested| match ingested {
                    Ingested::Done(report, state) => Ok((report, state)),
                    Ingested::Pending(pending) => {
                        let commit = commits.next().expect("a commit per pending poll")?;
                        self.finish_items(rules, &reply.source, *pending, commit)
                    }
                });
                Outcome { reply, result }
            })
            .collect()
    }

    /// Records one poll result — failures and 304s at once; a poll with items is prepared for
    /// the group's commit ([`Ingestor::ingest_group`]).
    fn ingest(
        &self,
        rules: &mut Rules,
        source: &SourceConfig,
        attempted_at: chrono::DateTime<Utc>,
        result: Result<PollOutcome, SourceError>,
    ) -> Result<Ingested, StoreError> {
        let id = source.id();
        let mut state = self.store.source_state(id)?;
        state.last_attempt = Some(attempted_at);
        match result {
            Err(e) => {
                state.consecutive_failures += 1;
                state.last_error = Some(e.to_string());
                let alert = source_alert(source, &mut state, Utc::now(), None);
                self.store.save_source_state(id, &state)?;
                let queued = self.alert(rules, alert)?;
                let n = state.consecutive_failures;
                // Rate-limited: the 1st, 2nd, 4th, 8th… consecutive failure is a warning.
                if n.is_power_of_two() {
                    tracing::warn!(source = %id, failures = n, "{} ({}): {e}; backing off", source.name, source.url);
                } else {
                    tracing::debug!(source = %id, failures = n, "{e}");
                }
                let report = IngestReport {
                    failed: true,
                    queued,
                    ..IngestReport::default()
                };
                Ok(Ingested::Done(report, state))
            }
            Ok(PollOutcome::NotModified { .. }) => {
                self.recovered(source, &mut state);
                let alert = source_alert(source, &mut state, Utc::now(), Some(0));
                self.store.save_source_state(id, &state)?;
                let queued = self.alert(rules, alert)?;
                tracing::debug!(source = %id, "not modified");
                let report = IngestReport {
                    not_modified: true,
                    queued,
                    ..IngestReport::default()
                };
                Ok(Ingested::Done(report, state))
            }
            Ok(PollOutcome::Items {
                items,
                stats,
                validators,
                ..
            }) => {
                self.recovered(source, &mut state);
                if let Some(problem) = stats.problems(source) {
                    tracing::warn!(source = %id, "{} ({}): {problem}; check [source.select]", source.name, source.url);
                }
                let settings = crate::sources::settings_fingerprint(source);
                let changed = state
                    .settings
                    .as_ref()
                    .is_some_and(|s| crate::sources::parse_settings_changed(s, &settings));
                // A list source is baselined by a poll that read something: items, or rows its
                // filter left out. An empty read is no baseline: the fix would otherwise meet
                // a 304 and, later, send every old row as new. (A page whose rows lack titles
                // is already an error.) An empty feed is a valid feed, and an empty answer of the
                // portal's API a quiet day: their first item is new.
                let read_something = !items.is_empty()
                    || stats.filtered > 0
                    || matches!(
                        *source.kind.get_ref(),
                        crate::config::SourceKind::Feed | crate::config::SourceKind::BriefingApi
                    );
                if !read_something && (changed || !state.baselined) {
                    state.validators = Validators::default();
                    self.store.save_source_state(id, &state)?;
                    tracing::warn!(source = %id, "{} ({}) returned no items; not taking this as its baseline (the next poll reads it again)", source.name, source.url);
                    return Ok(Ingested::Done(IngestReport::default(), state));
                }
                if changed {
                    tracing::info!(source = %id, "{}: how it is read changed (selectors, filter, identity or paging); re-baselining: what it lists now is recorded as seen, nothing is sent", source.name);
                    state.baselined = false;
                }
                state.settings = Some(settings);
                state.validators = validators;
                self.prepare_items(rules, source, state, items)
                    .map(|p| Ingested::Pending(Box::new(p)))
            }
        }
    }

    /// Logs an operator alert and, with Telegram on, queues it for every admin.
    /// Returns the number of deliveries queued.
    fn alert(&self, rules: &Rules, alert: Option<String>) -> Result<usize, StoreError> {
        let Some(text) = alert else {
            return Ok(0);
        };
        tracing::warn!("alert: {text}");
        if !self.telegram {
            return Ok(0);
        }
        crate::alerts::enqueue_alert(&self.store, &rules.admins, &text, None)?;
        Ok(rules.admins.len())
    }

    fn recovered(&self, source: &SourceConfig, state: &mut SourceState) {
        metrics::gauge!(crate::metrics::LAST_SUCCESS, "source" => source.id().to_owned())
            .set(Utc::now().timestamp() as f64);
        if state.consecutive_failures > 0 {
            tracing::info!(source = %source.id(), "{} recovered after {} failed polls", source.name, state.consecutive_failures);
        }
        state.consecutive_failures = 0;
        state.last_error = None;
        state.last_success = Some(Utc::now());
    }

    /// Everything about a poll with items but its commit: what is new, classified and fanned
    /// out, ready for [`Store::commit_polls`].
    fn prepare_items(
        &self,
        rules: &mut Rules,
        source: &SourceConfig,
        mut state: SourceState,
        items: Vec<Item>,
    ) -> Result<PendingPoll, StoreError> {
        let id = source.id();
        let total = items.len();
        let mut fresh = Vec::new();
        let mut listing = Listing::default();
        // What the source listed last time is seen: only the rest is looked up.
        let previous = self.store.listing(id)?;
        let known: std::collections::HashSet<&str> =
            previous.keys.iter().map(String::as_str).collect();
        // A source nothing was ever recorded for (a first cycle): no lookup per item.
        let any_seen = !previous.keys.is_empty() || self.store.has_seen_any(id)?;
        for item in delivery_order(items) {
            let title_key = title_key(&item.title);
            listing.push(&item.key, title_key);
            if !known.contains(item.key.as_str())
                && !fresh.iter().any(|(i, _): &(Item, _)| i.key == item.key)
                && (!any_seen || !self.store.is_seen(id, &item.key)?)
            {
                fresh.push((item, title_key));
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
        // Subscribers are read once per poll, and only when something may go out to them.
        let may_send = self.telegram && fresh.len() > send_from;
        let subscribers = if may_send {
            self.store.subscribers()?
        } else {
            Vec::new()
        };
        // Only from a real read: an empty list here means "not read", not "no words".
        if rules.watch_words && may_send {
            rules.watch.update(&subscribers);
        }
        let rules = &*rules;
        let mut previews = Vec::new();
        let mut baseline_matches = 0;
        let mut entries = Vec::with_capacity(fresh.len());
        let mut text = ItemText::default();
        for (i, (item, title_key)) in fresh.into_iter().enumerate() {
            rules
                .classifier
                .read_into(&mut text, &item.title, &item.summary);
            let topics = rules.classifier.classify_text(&text);
            for topic in &topics {
                metrics::counter!(crate::metrics::MATCHED, "topic" => topic.id.clone())
                    .increment(1);
            }
            let sends = i >= send_from;
            let key = item.key.clone();
            let notice = Notice {
                source_id: id.to_owned(),
                source_name: source.name.clone(),
                ministry: source.ministry.clone(),
                item,
                topics,
                seen_at: now,
                watched: Vec::new(),
                attachments: Vec::new(),
                files_page: None,
            };
            let mut deliveries = Vec::new();
            let mut digests = Vec::new();
            if !notice.topics.is_empty() {
                if sends {
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
                    baseline_matches += 1;
                    // Shown only with a preview printer (`--dry-run`): no copy otherwise.
                    if self.preview.is_some() {
                        previews.push((title_key, notice.clone()));
                    }
                }
            }
            if sends && !subscribers.is_empty() {
                let found = if rules.watch_words {
                    rules.watch.found(&text)
                } else {
                    Vec::new()
                };
                fan_out(&notice, &subscribers, &found, &mut deliveries, &mut digests);
            }
            entries.push(PollEntry {
                key,
                title_key,
                deliveries,
                digests,
                // Matched or not: `/search` finds it, and `/recent` if it matched.
                archive: Some(crate::store::archive_copy(notice)),
                baseline: !sends,
            });
        }
        state.baselined = true;
        let alert = source_alert(source, &mut state, now, Some(entries.len()));
        state.items_seen += entries.len() as u64;
        Ok(PendingPoll {
            entries,
            listing,
            previous,
            state,
            baseline,
            total,
            baseline_matches,
            previews,
            alert,
        })
    }

    /// Logs and reports a poll once [`Store::commit_polls`] recorded it.
    fn finish_items(
        &self,
        rules: &Rules,
        source: &SourceConfig,
        pending: PendingPoll,
        commit: CommitReport,
    ) -> Result<(IngestReport, SourceState), StoreError> {
        let id = source.id();
        let PendingPoll {
            state,
            baseline,
            total,
            baseline_matches,
            previews,
            alert,
            ..
        } = pending;
        let (new_items, queued) = (commit.new, commit.queued);
        metrics::counter!(crate::metrics::ITEMS_NEW, "source" => id.to_owned())
            .increment(new_items as u64);
        let alerts = self.alert(rules, alert)?;
        if commit.held > 0 {
            tracing::info!(source = %id, "{} new notices held for {} (waiting for a copy from a source without hold)", commit.held, crate::items::format_duration(source.hold.unwrap_or_default()));
        }
        if commit.took_over > 0 {
            tracing::info!(source = %id, "{} new items were held from another source: this copy is sent instead", commit.took_over);
        }
        if commit.extended > 0 {
            tracing::info!(source = %id, "{} new items are copies of a release already seen that reach more destinations (more topics, a watch word, or a first copy that matched nothing): sent to those the earlier copy did not reach", commit.extended);
        }
        if commit.title_duplicates > 0 {
            tracing::info!(source = %id, "{} new items carry the title of a release already seen (from another source, or this one under another link) and reach nobody new; not sent again", commit.title_duplicates);
        }
        if baseline {
            tracing::info!(
                source = %id,
                "{}: first poll, {new_items} items recorded as seen; {} match topics; {queued} queued (backfill = {})",
                source.name,
                baseline_matches + queued,
                source.backfill
            );
            if let Some(printer) = &self.preview {
                let mut previewed = self.previewed.lock().unwrap_or_else(|e| e.into_inner());
                for (key, notice) in &previews {
                    if let Some(key) = key
                        && !previewed.insert(*key)
                    {
                        continue;
                    }
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
        let report = IngestReport {
            baseline,
            new_items,
            queued: queued + alerts,
            ..IngestReport::default()
        };
        Ok((report, state))
    }
}
