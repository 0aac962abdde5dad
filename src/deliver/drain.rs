//! The outbox drain: one task sends what waits, in order per destination, paced, and removes a
//! delivery only once its destination accepted it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::pacer::{Class, Pacer};
use crate::printer::Printer;
use crate::records::{Delivery, Destination, Payload};
use crate::render;
use crate::store::{DestinationState, Store, StoreError};

use super::attachments;
use super::telegram::{self, Outcome, TelegramSink};

/// Where deliveries are performed. Deliveries for a destination without a sink (Telegram entries
/// left by an earlier run, during a dry run) stay in the outbox untouched.
#[derive(Clone)]
pub struct Sinks {
    pub printer: Printer,
    pub telegram: Option<TelegramSink>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The dry run's output (standard output) cannot be written: nothing more can be delivered.
    #[error("cannot write notices to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    /// A send task panicked or was cancelled from outside.
    #[error("a send task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
}

/// What a delivery run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Deliveries still in the outbox when the run ended.
    pub pending: usize,
}

/// Per-destination state of the drain.
#[derive(Debug, Default)]
struct DestinationRun {
    in_flight: bool,
    ready_at: Option<Instant>,
    failures: u32,
    inactive: bool,
    migrated_to: Option<String>,
    loaded: bool,
}

/// The deliveries loaded from the outbox, by sequence and by destination (in order), so that
/// finding each destination's oldest delivery costs the number of destinations, not of
/// deliveries (a baseline with `backfill` can queue tens of thousands).
#[derive(Default)]
struct Pending {
    deliveries: BTreeMap<u64, Delivery>,
    queues: HashMap<String, VecDeque<u64>>,
}

impl Pending {
    /// Adds a delivery loaded from the outbox (sequences arrive in increasing order).
    fn insert(&mut self, seq: u64, delivery: Delivery) {
        self.queues
            .entry(delivery.destination.key())
            .or_default()
            .push_back(seq);
        self.deliveries.insert(seq, delivery);
    }

    fn get(&self, seq: u64) -> Option<&Delivery> {
        self.deliveries.get(&seq)
    }

    fn get_mut(&mut self, seq: &u64) -> Option<&mut Delivery> {
        self.deliveries.get_mut(seq)
    }

    fn remove(&mut self, seq: &u64) -> Option<Delivery> {
        let delivery = self.deliveries.remove(seq)?;
        let key = delivery.destination.key();
        if let Some(queue) = self.queues.get_mut(&key) {
            match queue.front() {
                Some(front) if front == seq => {
                    queue.pop_front();
                }
                _ => queue.retain(|s| s != seq),
            }
            if queue.is_empty() {
                self.queues.remove(&key);
            }
        }
        Some(delivery)
    }

    /// Drops every delivery to the destination keyed `key`.
    fn remove_destination(&mut self, key: &str) {
        for seq in self.queues.remove(key).unwrap_or_default() {
            self.deliveries.remove(&seq);
        }
    }

    /// Each destination's oldest delivery, oldest first: (sequence, destination key).
    fn heads(&self) -> Vec<(u64, String)> {
        let mut heads: Vec<(u64, String)> = self
            .queues
            .iter()
            .filter_map(|(key, queue)| Some((*queue.front()?, key.clone())))
            .collect();
        heads.sort_unstable();
        heads
    }
}

/// A finished send.
struct Finished {
    seq: u64,
    key: String,
    /// `Ok(None)`: not sent (the wait for a turn was given up at shutdown).
    outcome: Result<Option<Outcome>, std::io::Error>,
}

/// In `once` mode a destination that keeps failing is left for the next run after this many tries.
const ONCE_MAX_FAILURES: u32 = 5;
/// Retry waits for network errors and 5xx: from 1 s, doubling, capped.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(600);

/// A request to the deliverer, which alone removes outbox entries: a subscriber left (`/stop`)
/// or blocked the bot, so what waits for that chat is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdraw {
    pub chat: i64,
}

/// Whether a run still serves a delivery's destination (see `Deliverer::served`).
enum Served {
    Yes,
    Withdrawn,
    No,
}

/// Drains the outbox.
pub struct Deliverer {
    pub store: Store,
    pub(crate) sinks: Sinks,
    /// Chats that get operator alerts.
    pub admins: Vec<i64>,
    /// Configured destinations: re-activated at start (an operator restarts after fixing rights).
    pub(crate) reactivate: Vec<Destination>,
    /// Signalled by the ingest stage whenever it enqueued something.
    pub wake: Arc<Notify>,
    /// Beaten on every turn of the loop (the systemd watchdog watches it).
    pub health: Arc<crate::health::Health>,
    /// Telegram's limits, shared with the bot's replies (Telegram counts notices and replies
    /// to a chat alike).
    pub(crate) pacer: Arc<Pacer>,
    /// Chats whose waiting deliveries are to be dropped (from the bot).
    pub(crate) withdrawals: tokio::sync::mpsc::UnboundedReceiver<Withdraw>,
    /// Looks up a release's files on its view page as its notice is sent (`None`: never).
    pub attachments: Option<Arc<attachments::Attachments>>,
}

impl Deliverer {
    /// Delivers until `shutdown` (finishing the sends in flight), or — when `until_idle` is given —
    /// until that token is cancelled and nothing deliverable is left (`policy-watch once`).
    pub async fn run(
        mut self,
        shutdown: CancellationToken,
        until_idle: Option<CancellationToken>,
    ) -> Result<DeliveryReport, DeliverError> {
        let pacing = Arc::clone(&self.pacer);
        let mut states: HashMap<String, DestinationRun> = HashMap::new();
        for destination in &self.reactivate {
            let key = destination.key();
            let mut state = self.store.destination_state(&key)?;
            if state.inactive_since.take().is_some() {
                tracing::info!(destination = %key, "re-activating configured destination (was: {})", state.reason.take().unwrap_or_default());
                self.store.save_destination_state(&key, &state)?;
            }
        }
        let mut pending = Pending::default();
        let mut loaded_up_to: Option<u64> = None;
        // Destinations found to be no longer configured (reported once each).
        let mut orphans: HashMap<String, usize> = HashMap::new();
        let mut tasks: JoinSet<Finished> = JoinSet::new();
        let mut report = DeliveryReport::default();
        let once = until_idle.is_some();
        let mut withdrawals_open = true;
        loop {
            self.health.beat_deliverer();
            // Pick up whatever was enqueued since the last look.
            for entry in self.store.outbox_after(loaded_up_to) {
                let (seq, delivery) = entry?;
                loaded_up_to = Some(seq);
                match self.served(&delivery)? {
                    Served::Yes => {}
                    Served::Withdrawn => {
                        // An inactive subscriber (a crash came between its deactivation and the
                        // withdrawal of its deliveries): dropped as the withdrawal would have.
                        self.store.outbox_remove(seq)?;
                        continue;
                    }
                    Served::No => {
                        let key = delivery.destination.key();
                        self.store.dead_letter(seq, &delivery, &format!("{key} is no longer a destination: not in the config, not an admin, not a subscriber"))?;
                        *orphans.entry(key).or_default() += 1;
                        continue;
                    }
                }
                pending.insert(seq, delivery);
            }
            for (key, count) in orphans.drain() {
                tracing::warn!(destination = %key, "{count} queued deliveries to {key}, which is no longer configured, were moved to the dead letters");
                self.alert(&key, &format!("{count} queued notice(s) for {key} were kept aside (store dead letters): {key} is no longer in the config. If it should still get notices, add it back and re-queue them from a backup."))?;
            }
            while let Ok(withdraw) = self.withdrawals.try_recv() {
                self.withdraw(withdraw.chat, &mut pending)?;
            }
            let stopping = shutdown.is_cancelled();
            let mut next_ready: Option<Instant> = None;
            let mut deliverable = false;
            if !stopping {
                let now = Instant::now();
                // Only the oldest delivery of each destination may go.
                for (seq, key) in pending.heads() {
                    let delivery = pending.get(seq).expect("a head is pending");
                    if matches!(delivery.destination, Destination::Telegram { .. })
                        && self.sinks.telegram.is_none()
                    {
                        continue; // parked: no Telegram in this run
                    }
                    let state = states.entry(key.clone()).or_default();
                    if !state.loaded {
                        let stored = self.store.destination_state(&key)?;
                        state.inactive = stored.inactive_since.is_some();
                        state.migrated_to = stored.migrated_to;
                        state.loaded = true;
                        // A retry_after received before a restart still holds.
                        if let Some(wait) = stored
                            .retry_not_before
                            .and_then(|t| (t - chrono::Utc::now()).to_std().ok())
                        {
                            state.ready_at = Some(now + wait);
                            pacing.pause(wait);
                        }
                    }
                    if state.inactive || (once && state.failures >= ONCE_MAX_FAILURES) {
                        continue;
                    }
                    deliverable = true;
                    if state.in_flight {
                        continue;
                    }
                    if let Some(at) = state.ready_at.filter(|at| *at > now) {
                        next_ready = Some(next_ready.map_or(at, |n| n.min(at)));
                        continue;
                    }
                    let chat = match &delivery.destination {
                        Destination::Telegram { chat } => {
                            Some(state.migrated_to.clone().unwrap_or_else(|| chat.clone()))
                        }
                        Destination::Stdout => None,
                    };
                    state.in_flight = true;
                    let sinks = self.sinks.clone();
                    let pacer = Arc::clone(&pacing);
                    let mut delivery = delivery.clone();
                    let stop = shutdown.clone();
                    let files = self.attachments.clone();
                    tasks.spawn(async move {
                        // The release's files, looked up (at most `attachments::WAIT`) before
                        // the send waits for its turn: the lookup holds no turn of the pacer.
                        if let (Some(files), Payload::Notice(notice)) =
                            (&files, &mut delivery.payload)
                        {
                            tokio::select! {
                                biased;
                                _ = stop.cancelled() => {}
                                _ = files.attach(notice) => {}
                            }
                        }
                        let outcome = match chat {
                            // Waiting for a turn is given up at shutdown (nothing was sent).
                            Some(chat) => tokio::select! {
                                biased;
                                _ = stop.cancelled() => Ok(None),
                                _ = pacer.turn(Class::Notice, &chat) => {
                                    Ok(Some(send_telegram(&sinks, &chat, &delivery).await))
                                }
                            },
                            None => print(&sinks.printer, &delivery).map(Some),
                        };
                        Finished { seq, key, outcome }
                    });
                }
            }
            if tasks.is_empty() {
                if stopping {
                    break;
                }
                if let Some(idle) = &until_idle
                    && idle.is_cancelled()
                    && !deliverable
                {
                    // Nothing sendable is left, and nothing more will be enqueued.
                    if self.store.outbox_after(loaded_up_to).next().is_none() {
                        break;
                    }
                    continue;
                }
            }
            // Wake at least once per heartbeat period, so a live deliverer is seen as alive.
            let beat = Instant::now() + self.health.beat_every();
            let sleep_until = next_ready.map_or(beat, |at| at.min(beat));
            tokio::select! {
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    let finished = match joined {
                        Ok(finished) => finished,
                        Err(e) => return Err(DeliverError::Task(e)),
                    };
                    let state = states.entry(finished.key.clone()).or_default();
                    state.in_flight = false;
                    match finished.outcome {
                        Ok(None) => {}
                        Ok(Some(outcome)) => {
                            if self.settle(finished.seq, &finished.key, outcome, state, &mut pending)? {
                                report.delivered += 1;
                                // The removal is durable before this destination's next send:
                                // a crash repeats at most the one message in flight. (Not for
                                // stdout: a line printed twice after a crash harms nobody, and
                                // an fsync per line would make dry runs crawl.)
                                if finished.key.starts_with("tg:") {
                                    self.store.flush().await?;
                                }
                            }
                        }
                        Err(fatal) => return Err(DeliverError::Stdout(fatal)),
                    }
                }
                _ = self.wake.notified() => {}
                withdraw = self.withdrawals.recv(), if withdrawals_open => match withdraw {
                    Some(withdraw) => self.withdraw(withdraw.chat, &mut pending)?,
                    None => withdrawals_open = false,
                },
                _ = tokio::time::sleep_until(sleep_until) => {}
                _ = shutdown.cancelled(), if !stopping => {}
                _ = async { match &until_idle { Some(t) => t.cancelled().await, None => std::future::pending().await } }, if until_idle.as_ref().is_some_and(|t| !t.is_cancelled()) => {}
            }
        }
        report.pending = self.store.outbox_len();
        Ok(report)
    }

    /// Applies a send's outcome to the outbox and the destination. Returns whether it was delivered.
    fn settle(
        &self,
        seq: u64,
        key: &str,
        outcome: Outcome,
        state: &mut DestinationRun,
        pending: &mut Pending,
    ) -> Result<bool, StoreError> {
        let Some(delivery) = pending.get_mut(&seq) else {
            return Ok(false);
        };
        if outcome != Outcome::Sent {
            let reason = match &outcome {
                Outcome::RetryAfter(_) => "rate_limited",
                Outcome::Retry(_) => "retry",
                Outcome::Gone(_) => "gone",
                Outcome::Migrated(_) => "migrated",
                Outcome::BadMarkup(_) => "bad_markup",
                Outcome::Rejected(_) => "rejected",
                Outcome::Sent => "sent",
            };
            metrics::counter!(crate::metrics::SEND_FAILED, "reason" => reason).increment(1);
        }
        match outcome {
            Outcome::Sent => {
                metrics::counter!(crate::metrics::SENT).increment(1);
                self.store.outbox_remove(seq)?;
                pending.remove(&seq);
                state.failures = 0;
                return Ok(true);
            }
            Outcome::RetryAfter(wait) => {
                delivery.attempts += 1;
                self.store.outbox_update(seq, delivery)?;
                // Every chat waits (Telegram does not say which limit a 429 enforces).
                self.pacer.pause(wait);
                let wait = wait + crate::pacer::RETRY_AFTER_MARGIN;
                state.ready_at = Some(Instant::now() + wait);
                // Durable at once (429s are rare): a process started after a crash must not
                // send before this either.
                let mut stored = self.store.destination_state(key)?;
                stored.retry_not_before =
                    Some(chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
                self.store.save_destination_state(key, &stored)?;
                self.store.flush_blocking()?;
                tracing::warn!(destination = %key, seq, "Telegram asked to wait {}s (429); the same message is resent then", wait.as_secs());
            }
            Outcome::Retry(reason) => {
                delivery.attempts += 1;
                self.store.outbox_update(seq, delivery)?;
                state.failures += 1;
                let wait = crate::backoff::backoff_from(RETRY_MIN, state.failures, RETRY_MAX);
                state.ready_at = Some(Instant::now() + wait);
                tracing::warn!(destination = %key, seq, failures = state.failures, "sending failed: {reason}; retrying in {wait:?}");
            }
            Outcome::Gone(reason) => {
                // A subscriber who blocked the bot (or removed it from the group): deactivated
                // and its waiting notices dropped; `/start` brings it back. Configured
                // destinations are an operator's business: parked and alerted, below.
                let configured = self.reactivate.iter().any(|d| d.key() == key);
                if !configured
                    && let Some(chat) = telegram_chat_id(key)
                    && self.store.subscriber(chat)?.is_some()
                {
                    self.store.deactivate_subscriber(chat, &reason)?;
                    tracing::info!(destination = %key, "subscriber deactivated ({reason})");
                    self.withdraw(chat, pending)?;
                    return Ok(false);
                }
                state.inactive = true;
                let mut stored = self.store.destination_state(key)?;
                stored.inactive_since = Some(chrono::Utc::now());
                stored.reason = Some(reason.clone());
                self.store.save_destination_state(key, &stored)?;
                let lower = reason.to_ascii_lowercase();
                let fix = if lower.contains("chat not found") {
                    "Telegram knows no such chat: check the chat id or @name in [[telegram.destination]] (a channel's id starts with -100), and that the bot was added to it; then restart policy-watch"
                } else if telegram::needs_rights(&lower) {
                    "The chat does not let the bot post: in a group, lift the bot's restriction (permissions: send messages) or make it an administrator; in a channel, make it an administrator allowed to post; then restart policy-watch"
                } else {
                    "Fix the bot's rights (a channel needs the bot as an administrator allowed to post; a group needs it as a member) and restart policy-watch"
                };
                tracing::error!(destination = %key, "Telegram refuses this destination: {reason}; it is deactivated, its notices stay in the outbox, other destinations carry on. {fix}");
                self.alert(key, &format!("Destination {key} deactivated: {reason}. {fix}; its pending notices are kept."))?;
            }
            Outcome::Migrated(chat) => {
                if let Some(old) = telegram_chat_id(key)
                    && self.store.move_subscriber(old, chat)?
                {
                    tracing::info!(destination = %key, "the subscriber's group moved to supergroup {chat}; its subscription follows");
                }
                let mut stored = self.store.destination_state(key)?;
                stored.migrated_to = Some(chat.to_string());
                self.store.save_destination_state(key, &stored)?;
                state.migrated_to = Some(chat.to_string());
                state.ready_at = None;
                tracing::warn!(destination = %key, "the group moved to supergroup {chat}; following it (update the config)");
            }
            Outcome::BadMarkup(reason) if !delivery.plain => {
                delivery.plain = true;
                self.store.outbox_update(seq, delivery)?;
                tracing::error!(destination = %key, seq, "BUG: Telegram refused our HTML ({reason}); resending as plain text");
            }
            Outcome::BadMarkup(reason) | Outcome::Rejected(reason) => {
                let delivery = pending.remove(&seq).expect("present");
                self.store.dead_letter(seq, &delivery, &reason)?;
                tracing::error!(destination = %key, seq, "Telegram refused this message for good: {reason}; kept in the store's dead letters");
                self.alert(
                    key,
                    &format!("A message to {key} was refused and kept aside: {reason}"),
                )?;
            }
        }
        Ok(false)
    }

    /// Drops every delivery waiting for `chat`, in the store and in memory (a send in flight
    /// finishes).
    fn withdraw(&self, chat: i64, pending: &mut Pending) -> Result<(), StoreError> {
        let destination = Destination::Telegram {
            chat: chat.to_string(),
        };
        let dropped = self.store.drop_deliveries_to(&destination)?;
        pending.remove_destination(&destination.key());
        if dropped > 0 {
            tracing::info!(destination = %destination.key(), "{dropped} waiting notices dropped (the subscriber left or blocked the bot)");
        }
        Ok(())
    }

    /// Whether this run still serves a delivery's destination. No: a Telegram chat that is not a
    /// configured destination, not an admin, not a subscriber (a destination removed from the
    /// config, or a mistyped one) — such deliveries would otherwise wait forever. Withdrawn: an
    /// inactive subscriber. Only with Telegram on: a dry run leaves Telegram deliveries parked.
    fn served(&self, delivery: &Delivery) -> Result<Served, StoreError> {
        let Destination::Telegram { chat } = &delivery.destination else {
            return Ok(Served::Yes);
        };
        if self.sinks.telegram.is_none() || self.reactivate.contains(&delivery.destination) {
            return Ok(Served::Yes);
        }
        let Ok(id) = chat.parse::<i64>() else {
            return Ok(Served::No); // an @channel that is not configured
        };
        if self.admins.contains(&id) {
            return Ok(Served::Yes);
        }
        Ok(match self.store.subscriber(id)? {
            Some(s) if s.active => Served::Yes,
            Some(_) => Served::Withdrawn,
            None => Served::No,
        })
    }

    /// Queues an operator alert about destination `about` (never to that chat itself: no loops).
    fn alert(&self, about: &str, text: &str) -> Result<(), StoreError> {
        if self.sinks.telegram.is_none() {
            return Ok(());
        }
        crate::alerts::enqueue_alert(&self.store, &self.admins, text, Some(about))
    }
}

/// The numeric chat id of a `tg:<id>` destination key.
fn telegram_chat_id(key: &str) -> Option<i64> {
    key.strip_prefix("tg:")?.parse().ok()
}

async fn send_telegram(sinks: &Sinks, chat: &str, delivery: &Delivery) -> Outcome {
    let telegram = sinks
        .telegram
        .as_ref()
        .expect("dispatch checks for a Telegram sink");
    let (text, html) = match (&delivery.payload, delivery.plain) {
        (Payload::Notice(notice), false) => (render::telegram_html(notice), true),
        (Payload::Notice(notice), true) => (render::plain(notice), false),
        (Payload::Alert { text }, false) => (render::alert_html(text), true),
        (Payload::Alert { text }, true) => (text.clone(), false),
        (Payload::Digest(digest), false) => (render::digest_html(digest), true),
        (Payload::Digest(digest), true) => (render::digest_plain(digest), false),
    };
    telegram.send(chat, &text, html).await
}

fn print(printer: &Printer, delivery: &Delivery) -> std::io::Result<Outcome> {
    let text = match &delivery.payload {
        Payload::Notice(notice) => render::plain(notice),
        Payload::Alert { text } => format!("[alert] {text}\n"),
        Payload::Digest(digest) => render::digest_plain(digest),
    };
    printer.print(&text).map(|()| Outcome::Sent)
}

/// A convenience for callers that only print (dry-run).
impl Sinks {
    pub(crate) fn print_only(printer: Printer) -> Sinks {
        Sinks {
            printer,
            telegram: None,
        }
    }
}

/// For tests and `status`: the destination's stored state.
pub fn destination_state(
    store: &Store,
    destination: &Destination,
) -> Result<DestinationState, StoreError> {
    store.destination_state(&destination.key())
}
